namespace Asupersync.Sagas;

/// <summary>A saga's state rebuilt from its log, checking every transition on the way (an impossible one is corruption).</summary>
/// <remarks>Not thread-safe: the runner guards it with its own lock.</remarks>
internal sealed class SagaLogState
{
    internal sealed class StepState
    {
        internal int Starts;
        internal long FirstStartSequence;
        internal bool Completed;
        internal string? Output;
        internal bool Failed;
        internal int CompensationStarts;
        internal bool Compensated;
        internal bool CompensationFailed;
        internal string? CompensationError;
    }

    private SagaLogState(string sagaId, SagaHeader header)
    {
        SagaId = sagaId;
        Header = header;
        Steps = new StepState[header.Steps.Count];
        for (int i = 0; i < Steps.Length; i++) Steps[i] = new StepState();
    }

    internal string SagaId { get; }

    internal SagaHeader Header { get; }

    internal StepState[] Steps { get; }

    internal SagaState State { get; private set; } = SagaState.Running;

    internal string? AbortCause { get; private set; }

    internal int? FailedCompensationStep { get; private set; }

    internal long LastSequence { get; private set; }

    internal List<SagaLogRecord> Records { get; } = [];

    internal bool IsFinal => State is SagaState.Completed or SagaState.Compensated or SagaState.CompensationFailed;

    internal bool AnyStarted => Steps.Any(s => s.Starts > 0);

    internal bool AnyFailed => Steps.Any(s => s.Failed);

    /// <summary>Rebuilds the state from a whole log (ordered by sequence); throws <see cref="SagaLogCorruptException"/>.</summary>
    internal static SagaLogState Replay(string sagaId, IReadOnlyList<SagaLogRecord> records)
    {
        if (records.Count == 0) throw new SagaLogCorruptException(sagaId, 0, "the log has no records");
        var first = records[0];
        if (first.Sequence != 1) throw new SagaLogCorruptException(sagaId, 1, $"record 1 is missing (the log starts at {first.Sequence})");
        if (first.Transition != SagaTransition.SagaStarted) throw new SagaLogCorruptException(sagaId, 1, $"the first record is {first.Transition}, not SagaStarted");
        var state = new SagaLogState(sagaId, SagaLogFormat.DecodeHeader(sagaId, 1, first.Data));
        state.Records.Add(first);
        state.LastSequence = 1;
        for (int i = 1; i < records.Count; i++) state.Apply(records[i]);
        return state;
    }

    /// <summary>A fresh state for a saga whose SagaStarted record was just written.</summary>
    internal static SagaLogState Fresh(SagaLogRecord started) => Replay(started.SagaId, [started]);

    /// <summary>Applies one more record, checking that it is the next one and a possible transition.</summary>
    internal void Apply(SagaLogRecord r)
    {
        if (r.SagaId != SagaId) throw new SagaLogCorruptException(SagaId, r.Sequence, $"a record of saga '{r.SagaId}' is in this saga's log");
        if (r.Sequence != LastSequence + 1)
            throw new SagaLogCorruptException(SagaId, LastSequence + 1, r.Sequence > LastSequence + 1 ? $"record {LastSequence + 1} is missing" : $"record {r.Sequence} appears twice");
        var t = r.Transition;
        bool stepLevel = t is SagaTransition.StepStarted or SagaTransition.StepCompleted or SagaTransition.StepFailed
            or SagaTransition.CompensationStarted or SagaTransition.StepCompensated or SagaTransition.CompensationFailed;
        if (stepLevel && (r.Step < 0 || r.Step >= Steps.Length))
            throw Bad(r, $"step {r.Step} does not exist (the saga has {Steps.Length} steps)");
        if (!stepLevel && r.Step != -1) throw Bad(r, "a saga-level transition names a step");
        var s = stepLevel ? Steps[r.Step] : null;
        switch (t)
        {
            case SagaTransition.SagaStarted:
                throw Bad(r, "a second SagaStarted");
            case SagaTransition.StepStarted:
                Require(r, State == SagaState.Running && !s!.Completed, "a step starts only while running forward and before it completed");
                if (s!.Starts++ == 0) s.FirstStartSequence = r.Sequence;
                break;
            case SagaTransition.StepCompleted:
                Require(r, State == SagaState.Running && s!.Starts > 0 && !s.Completed, "a step completes only once, after it started, before compensation");
                s!.Completed = true;
                s.Output = r.Data;
                break;
            case SagaTransition.StepFailed:
                Require(r, State == SagaState.Running && s!.Starts > 0 && !s.Completed, "a step fails only after it started and before it completed");
                s!.Failed = true;
                break;
            case SagaTransition.SagaAborting:
                Require(r, State == SagaState.Running, "the saga aborts only from its forward phase");
                State = SagaState.Compensating;
                AbortCause = r.Data;
                break;
            case SagaTransition.CompensationStarted:
                Require(r, State == SagaState.Compensating && s!.Starts > 0 && !s.Compensated, "a compensation starts only while compensating, for a started step not yet compensated");
                s!.CompensationStarts++;
                break;
            case SagaTransition.StepCompensated:
                Require(r, State == SagaState.Compensating && s!.CompensationStarts > 0 && !s.Compensated, "a step is compensated once, after its compensation started");
                s!.Compensated = true;
                break;
            case SagaTransition.CompensationFailed:
                Require(r, State == SagaState.Compensating && s!.CompensationStarts > 0 && !s.Compensated, "a compensation fails only after it started");
                s!.CompensationFailed = true;
                s.CompensationError = r.Data;
                State = SagaState.CompensationFailed;
                FailedCompensationStep = r.Step;
                break;
            case SagaTransition.SagaCompleted:
                Require(r, State == SagaState.Running && Steps.All(x => x.Completed), "the saga completes only when every step completed");
                State = SagaState.Completed;
                break;
            case SagaTransition.SagaCompensated:
                Require(r, State == SagaState.Compensating && Steps.All(x => x.Starts == 0 || x.Compensated), "the saga is compensated only when every started step is");
                State = SagaState.Compensated;
                break;
            case SagaTransition.SagaReopened:
                Require(r, State == SagaState.CompensationFailed, "only a CompensationFailed saga is reopened");
                State = SagaState.Compensating;
                if (FailedCompensationStep is { } f) Steps[f].CompensationFailed = false;
                FailedCompensationStep = null;
                break;
            default:
                throw Bad(r, $"unknown transition {(int)t}");
        }
        Records.Add(r);
        LastSequence = r.Sequence;
    }

    /// <summary>The started steps still to compensate, newest start first (LIFO).</summary>
    internal IEnumerable<int> CompensationOrder() =>
        Enumerable.Range(0, Steps.Length)
            .Where(i => Steps[i].Starts > 0 && !Steps[i].Compensated)
            .OrderByDescending(i => Steps[i].FirstStartSequence);

    private void Require(SagaLogRecord r, bool ok, string rule)
    {
        if (!ok) throw Bad(r, $"impossible transition {r.Transition}{(r.Step >= 0 ? $" of step {r.Step}" : "")} in state {State} ({rule})");
    }

    private SagaLogCorruptException Bad(SagaLogRecord r, string message) => new(SagaId, r.Sequence, message);
}
