using System.Globalization;
using Asupersync.Sync;

namespace Asupersync.Sagas;

/// <summary>
/// Runs one saga instance from wherever its log says it is: forward through the plan's stages, or compensating the
/// started steps LIFO. One runner per saga run; it lives in the saga's region.
/// </summary>
/// <remarks>
/// <para><b>Write-ahead.</b> Every effect is preceded by the durable record that guards it: StepStarted before an
/// action, SagaAborting and CompensationStarted before a compensation. Appends are awaited under a cancel mask, so a
/// cancel never cuts one short; only an exhausted cleanup budget (or a store failure) does, and then the run stops
/// (Interrupted) without starting any further effect.</para>
/// <para><b>Compensation</b> runs in the runner's own task under one mask for the whole phase: a cancel that arrives
/// meanwhile does not interrupt it, and the kernel bounds the masked phase by that cancel's cleanup budget (when it is
/// spent, the next checkpoint raises and the run ends Interrupted; the log keeps the saga Compensating so recovery
/// finishes it).</para>
/// </remarks>
internal sealed class SagaRunner
{
    private readonly Lock _gate = new();
    private readonly Saga _saga;
    private readonly SagaLogStore _store;
    private readonly SagaLease _lease;
    private readonly bool _fenced;
    private readonly bool _releaseOnCancel;
    private readonly string _id;
    private readonly SagaPlan _plan;
    private readonly RetryPolicy _retry;
    private readonly ISagaObserver? _observer;
    private readonly bool _recovered;
    private readonly SortedDictionary<long, SagaLogRecord> _early = [];
    private readonly Notify _stop = new();
    private SagaLogState? _state;
    private (int Step, Exception Error)? _firstFailure;
    private Exception? _interruption;
    private Outcome<Unit>? _trigger;
    private volatile bool _done;
    private bool _released;

    private SagaRunner(Saga saga, SagaLogStore store, SagaLease lease, string id, SagaPlanning planning, RetryPolicy retry, ISagaObserver? observer, SagaLogState? state, bool releaseOnCancel)
    {
        _saga = saga;
        _store = store;
        _lease = lease;
        _fenced = store.SupportsLeases;
        _releaseOnCancel = releaseOnCancel;
        _id = id;
        _plan = saga.Plan(planning);
        _retry = retry;
        _observer = observer;
        _state = state;
        _recovered = state is not null;
    }

    // ------------------------------------------------------------------ entry points

    /// <summary>Starts a new saga: writes its header, then runs it.</summary>
    internal static async Task<Outcome<SagaResult>> StartAsync(Cx cx, Saga saga, SagaOptions options)
    {
        var store = options.Store ?? new InMemorySagaLog().Open();
        var id = options.SagaId ?? NewId(cx);
        // Epoch 1 on a shared store (the SagaStarted record creates the saga owned by this worker); epoch 0 marks a
        // single-process store's local hold, so that a worker on the same store object does not claim it meanwhile.
        var lease = new SagaLease(id, store.WorkerId, store.SupportsLeases ? 1 : 0);
        var runner = new SagaRunner(saga, store, lease, id, options.Planning, options.CompensationRetry, options.Observer, null, releaseOnCancel: false);
        var header = SagaLogFormat.EncodeHeader(saga, options.Input, options.Planning);
        return (await runner.RunInRegionAsync(cx, header, reopen: false)).Outcome;
    }

    /// <summary>Resumes a saga from its (validated) log.</summary>
    internal static Task<(Outcome<SagaResult> Outcome, SagaResult? Result)> ResumeAsync(Cx cx, Saga saga, SagaLogState state, SagaLogStore store, SagaLease lease,
        RetryPolicy retry, ISagaObserver? observer, bool cancelCompensates)
    {
        var runner = new SagaRunner(saga, store, lease, state.SagaId, state.Header.Planning, retry, observer, state, releaseOnCancel: !cancelCompensates);
        return runner.RunInRegionAsync(cx, null, reopen: state.State == SagaState.CompensationFailed);
    }

    internal static string NewId(Cx cx) =>
        string.Create(CultureInfo.InvariantCulture, $"{cx.NextRandom():x16}{cx.NextRandom():x16}");

    private async Task<(Outcome<SagaResult> Outcome, SagaResult? Result)> RunInRegionAsync(Cx cx, string? header, bool reopen)
    {
        SagaResult? result = null;
        Exception? startError = null;
        var o = await cx.RegionAsync($"saga {_saga.Name} {_id}", async rcx =>
        {
            if (header is not null)
            {
                try
                {
                    await AppendAsync(rcx, SagaTransition.SagaStarted, -1, header);
                }
                catch (SagaStoreException e)
                {
                    startError = e; // nothing ran: no effect to compensate
                    return;
                }
            }
            if (_fenced) rcx.Spawn($"saga {_id} lease heartbeat", HeartbeatAsync);
            try
            {
                if (reopen) await AppendAsync(rcx, SagaTransition.SagaReopened, -1, null);
                result = await DriveAsync(rcx);
            }
            catch (SagaStoreException e)
            {
                result = Interrupted(e);
            }
            finally
            {
                _done = true;
                _stop.NotifyOne(); // ends the heartbeat
            }
        });
        if (startError is not null) return (Outcome<SagaResult>.Err(startError), null);
        if (result is null)
            return (o.IsOk ? Outcome<SagaResult>.Panicked(new InvalidOperationException($"saga '{_saga.Name}' {_id} ended without a result")) : Outcome<SagaResult>.FromNonOk(o.Kind, o.Payload), null);
        // A final saga gives its claim up; so does one released by a cancelled worker, and any saga of a
        // single-process store. An interrupted saga on a shared store keeps its lease until it expires (its worker
        // may be in trouble), then is taken over.
        if (!_fenced || result.State != SagaState.Interrupted || _released)
        {
            try
            {
                using (cx.Mask()) await _store.ReleaseAsync(cx, _lease);
            }
            catch (SagaStoreException)
            {
                // the lease expires by itself
            }
        }
        return (ToOutcome(result), result);
    }

    // ------------------------------------------------------------------ forward

    private async Task<SagaResult> DriveAsync(Cx cx)
    {
        var state = _state!;
        bool compensate;
        lock (_gate)
        {
            compensate = state.State != SagaState.Running || state.AnyFailed
                         || (_recovered && _saga.Recovery == SagaRecoveryPolicy.Compensate && state.AnyStarted);
        }
        if (state.State == SagaState.Completed || state.State == SagaState.Compensated) return FromLog();
        Outcome<Unit>? trigger = null;
        string? cause = compensate ? (state.AbortCause ?? (state.AnyFailed ? "a step failed before the crash" : "recovered after a crash (recovery policy: Compensate)")) : null;
        if (!compensate)
        {
            try
            {
                foreach (var stage in _plan.Stages)
                {
                    int[] todo;
                    lock (_gate) todo = stage.Steps.Where(i => !state.Steps[i].Completed).ToArray();
                    if (todo.Length == 0) continue;
                    cx.Checkpoint();
                    var name = $"saga {_id} stage {stage.Index + 1}";
                    var o = todo.Length == 1
                        ? await cx.RegionAsync(name, scx => RunStepAsync(scx, _saga.Steps[todo[0]]))
                        : await cx.RegionAsync(name, scx =>
                        {
                            foreach (int i in todo)
                            {
                                var step = _saga.Steps[i];
                                scx.Spawn(step.Name, c => RunStepAsync(c, step));
                            }
                            return Task.CompletedTask;
                        });
                    if (_interruption is not null) return Interrupted(_interruption);
                    if (!o.IsOk)
                    {
                        trigger = o;
                        break;
                    }
                }
            }
            catch (CancelledException ce)
            {
                trigger = Outcome<Unit>.Cancelled(ce.Reason);
            }
            if (_interruption is not null) return Interrupted(_interruption);
            if (trigger is { IsCancelled: true } && _firstFailure is null && _releaseOnCancel)
            {
                // A cancelled worker hands its saga over instead of compensating it: nothing more is started, and
                // whoever resumes it re-runs the interrupted steps with their idempotency keys.
                _released = true;
                return Interrupted(new SagaStoreException($"the worker was cancelled ({trigger.Value.CancelReason}); the saga was released for another worker"));
            }
            if (trigger is null)
            {
                await AppendAsync(cx, SagaTransition.SagaCompleted, -1, null);
                return FromLog();
            }
            cause = Describe(trigger.Value);
        }
        _trigger = trigger;
        return await CompensateAsync(cx, cause);
    }

    private async Task RunStepAsync(Cx cx, SagaStep step)
    {
        int attempt;
        lock (_gate) attempt = _state!.Steps[step.Index].Starts + 1;
        await AppendAsync(cx, SagaTransition.StepStarted, step.Index, attempt.ToString(CultureInfo.InvariantCulture));
        cx.Checkpoint(); // a cancel that arrived while the record was written: no effect
        var ctx = new SagaStepContext(_id, _saga.Name, _state!.Header.Input, step, attempt, isCompensation: false, actionCompleted: false, output: null);
        string? output;
        try
        {
            output = await step.Action(cx, ctx);
        }
        catch (Exception ex) when (IsFailure(cx, ex))
        {
            lock (_gate) _firstFailure ??= (step.Index, ex);
            try
            {
                await AppendAsync(cx, SagaTransition.StepFailed, step.Index, DescribeError(ex));
            }
            catch (SagaStoreException)
            {
                // recorded as the interruption; the step's own failure is what this task reports
            }
            throw;
        }
        await AppendAsync(cx, SagaTransition.StepCompleted, step.Index, output);
    }

    private static bool IsFailure(Cx cx, Exception ex) =>
        ex is not CancelledException && !(ex is OperationCanceledException && cx.IsCancelRequested);

    // ------------------------------------------------------------------ compensation

    private async Task<SagaResult> CompensateAsync(Cx cx, string? cause)
    {
        var state = _state!;
        using (cx.Mask())
        {
            try
            {
                if (state.State == SagaState.Running) await AppendAsync(cx, SagaTransition.SagaAborting, -1, cause);
                int[] order;
                lock (_gate) order = state.CompensationOrder().ToArray();
                foreach (int i in order)
                {
                    var step = _saga.Steps[i];
                    bool completed;
                    string? output;
                    lock (_gate)
                    {
                        completed = state.Steps[i].Completed;
                        output = state.Steps[i].Output;
                    }
                    await AppendAsync(cx, SagaTransition.CompensationStarted, i, null);
                    if (step.Compensate is null)
                    {
                        await AppendAsync(cx, SagaTransition.StepCompensated, i, "nothing to undo");
                        continue;
                    }
                    var last = await CompensateWithRetryAsync(cx, step, completed, output);
                    if (last is null)
                    {
                        await AppendAsync(cx, SagaTransition.StepCompensated, i, null);
                        continue;
                    }
                    await AppendAsync(cx, SagaTransition.CompensationFailed, i, DescribeError(last));
                    return FromLog();
                }
                await AppendAsync(cx, SagaTransition.SagaCompensated, -1, null);
                return FromLog();
            }
            catch (CancelledException ce)
            {
                return Interrupted(new SagaStoreException($"the cleanup budget ran out while compensating ({ce.Reason})", ce));
            }
            catch (SagaStoreException e)
            {
                return Interrupted(e);
            }
        }
    }

    /// <summary>Runs a compensation with the retry policy; returns null on success, else the last error.</summary>
    private async Task<Exception?> CompensateWithRetryAsync(Cx cx, SagaStep step, bool completed, string? output)
    {
        var backoff = _retry.InitialBackoff;
        for (int attempt = 1; ; attempt++)
        {
            Exception failure;
            try
            {
                cx.Checkpoint(); // masked: raises only when the cleanup budget is spent
                var ctx = new SagaStepContext(_id, _saga.Name, _state!.Header.Input, step, attempt, isCompensation: true, actionCompleted: completed, output: output);
                await step.Compensate!(cx, ctx);
                return null;
            }
            catch (CancelledException) when (cx.IsCancelRequested)
            {
                throw; // the runner's cleanup budget is spent: stop (the log keeps the saga Compensating)
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            if (attempt >= Math.Max(1, _retry.MaxAttempts) || (_retry.ShouldRetry is { } filter && !filter(failure))) return failure;
            if (backoff > TimeSpan.Zero) await cx.SleepAsync(backoff);
            var next = backoff * _retry.BackoffMultiplier;
            backoff = next > _retry.MaxBackoff ? _retry.MaxBackoff : next;
        }
    }

    // ------------------------------------------------------------------ lease

    /// <summary>
    /// Renews the lease every third of its duration until the runner is done. It keeps renewing while the saga drains
    /// after a cancel (compensation needs the lease too), and stops when the cleanup budget ends or the lease is lost —
    /// then it cancels the saga's region, whose appends would fail the fence anyway.
    /// </summary>
    private async Task HeartbeatAsync(Cx cx)
    {
        var interval = _store.LeaseDuration / 3;
        if (interval <= TimeSpan.Zero) interval = TimeSpan.FromMilliseconds(1);
        bool draining = false;
        while (!_done)
        {
            Outcome<Unit> o;
            try
            {
                o = await cx.TimeoutAsync(interval, async c =>
                {
                    await _stop.WaitAsync(c);
                    return default(Unit);
                }, "lease heartbeat");
            }
            catch (CancelledException)
            {
                if (draining) return;
                draining = true;
                continue;
            }
            if (_done) return;
            if (o.IsTimedOut())
            {
                bool held;
                try
                {
                    held = await _store.RenewAsync(cx, _lease);
                }
                catch (SagaStoreException)
                {
                    continue; // transient: try again next beat; the fence protects the log meanwhile
                }
                catch (CancelledException)
                {
                    if (draining) return;
                    draining = true;
                    continue;
                }
                if (!held)
                {
                    lock (_gate) _interruption ??= new SagaLeaseLostException(_lease);
                    cx.CancelRegion("saga lease lost");
                    return;
                }
                continue;
            }
            if (o.IsCancelled)
            {
                if (draining) return;
                draining = true;
                cx.AcknowledgeCancel();
            }
        }
    }

    // ------------------------------------------------------------------ log

    /// <summary>Appends a transition (masked: a cancel does not cut a log write short), then applies it to the state in sequence order.</summary>
    private async ValueTask<SagaLogRecord> AppendAsync(Cx cx, SagaTransition transition, int step, string? data)
    {
        SagaLogRecord record;
        using (cx.Mask())
        {
            try
            {
                record = await _store.AppendAsync(cx, new SagaLogEntry(_id, transition, step, data, cx.UtcNow), _lease);
            }
            catch (SagaStoreException e)
            {
                lock (_gate) _interruption ??= e;
                throw;
            }
            catch (CancelledException ce)
            {
                var e = new SagaStoreException($"a log write was abandoned: the cleanup budget ran out ({ce.Reason})", ce);
                lock (_gate) _interruption ??= e;
                throw e;
            }
        }
        List<SagaLogRecord> applied = [];
        lock (_gate)
        {
            if (_state is null)
            {
                _state = SagaLogState.Fresh(record);
                applied.Add(record);
            }
            else
            {
                // Concurrent steps' records come back in any order; apply them in sequence order.
                _early[record.Sequence] = record;
                while (_early.Remove(_state.LastSequence + 1, out var next))
                {
                    _state.Apply(next);
                    applied.Add(next);
                }
            }
        }
        if (_observer is not null)
        {
            foreach (var r in applied)
            {
                try
                {
                    _observer.OnDurable(r);
                }
                catch (Exception)
                {
                    // an observer must not break the saga
                }
            }
        }
        return record;
    }

    // ------------------------------------------------------------------ results

    private SagaResult FromLog()
    {
        lock (_gate)
        {
            var s = _state!;
            var steps = _saga.Steps.Select(st => new SagaStepReport(st.Index, st.Name, st.Kind, s.Steps[st.Index].Starts, s.Steps[st.Index].Completed, s.Steps[st.Index].Compensated)).ToArray();
            string? failed = _firstFailure is { } f ? _saga.Steps[f.Step].Name : FirstFailedInLog(s);
            string? cfStep = s.FailedCompensationStep is { } c ? _saga.Steps[c].Name : null;
            string? cfError = s.FailedCompensationStep is { } c2 ? s.Steps[c2].CompensationError : null;
            return new SagaResult(_id, _saga.Name, s.State, steps, failed, s.AbortCause, cfStep, cfError, null);
        }
    }

    private string? FirstFailedInLog(SagaLogState s)
    {
        var r = s.Records.FirstOrDefault(x => x.Transition == SagaTransition.StepFailed);
        return r is null ? null : _saga.Steps[r.Step].Name;
    }

    private SagaResult Interrupted(Exception why)
    {
        lock (_gate) _interruption ??= why;
        if (_state is null)
            return new SagaResult(_id, _saga.Name, SagaState.Interrupted, [], null, null, null, null, _interruption);
        var r = FromLog();
        return new SagaResult(r.SagaId, r.SagaName, SagaState.Interrupted, r.Steps, r.FailedStep, r.Cause, null, null, _interruption);
    }

    private Outcome<SagaResult> ToOutcome(SagaResult r)
    {
        switch (r.State)
        {
            case SagaState.Completed:
                return Outcome<SagaResult>.Ok(r);
            case SagaState.Compensated:
                if (_trigger is { IsCancelled: true } c) return Outcome<SagaResult>.Cancelled(c.CancelReason!);
                if (_trigger is { IsPanicked: true } p) return Outcome<SagaResult>.Panicked(p.Exception!);
                return Outcome<SagaResult>.Err(new SagaAbortedException(r, _firstFailure?.Error ?? _trigger?.Error));
            case SagaState.CompensationFailed:
                return Outcome<SagaResult>.Err(new SagaCompensationFailedException(r, null));
            default:
                return Outcome<SagaResult>.Err(new SagaInterruptedException(r));
        }
    }

    private string Describe(Outcome<Unit> o)
    {
        if (_firstFailure is { } f) return $"step '{_saga.Steps[f.Step].Name}' failed: {DescribeError(f.Error)}";
        return o.Kind switch
        {
            OutcomeKind.Cancelled => $"cancelled: {o.CancelReason}",
            OutcomeKind.Err => $"failed: {DescribeError(o.Error!)}",
            OutcomeKind.Panicked => $"panicked: {DescribeError(o.Exception!)}",
            _ => "failed",
        };
    }

    private static string DescribeError(Exception ex) => $"{ex.GetType().Name}: {ex.Message}";
}
