namespace Asupersync.Sagas;

/// <summary>What a step's action or compensation knows about the saga and itself.</summary>
/// <remarks>
/// <para><b>Idempotency keys.</b> <see cref="IdempotencyKey"/> is derived from the saga id and the step index only,
/// so it is the same in every attempt, also after a crash and restart: pass it to the service the step calls, which
/// must apply an effect at most once per key. That is what makes "at most once per key" hold when a worker dies
/// between doing an effect and recording it. <see cref="CompensationKey"/> plays the same role for the
/// compensation.</para>
/// </remarks>
public sealed class SagaStepContext
{
    internal SagaStepContext(string sagaId, string sagaName, string? input, SagaStep step, int attempt, bool isCompensation, bool actionCompleted, string? output)
    {
        SagaId = sagaId;
        SagaName = sagaName;
        Input = input;
        StepIndex = step.Index;
        StepName = step.Name;
        Kind = step.Kind;
        Attempt = attempt;
        IsCompensation = isCompensation;
        ActionCompleted = actionCompleted;
        Output = output;
    }

    /// <summary>The saga instance's id.</summary>
    public string SagaId { get; }

    /// <summary>The saga definition's name.</summary>
    public string SagaName { get; }

    /// <summary>The saga instance's input (as given to <see cref="SagaOptions.Input"/> or at submission), or null.</summary>
    public string? Input { get; }

    /// <summary>The step's index.</summary>
    public int StepIndex { get; }

    /// <summary>The step's name.</summary>
    public string StepName { get; }

    /// <summary>The step's operation kind.</summary>
    public SagaOpKind Kind { get; }

    /// <summary>The action's idempotency key: <c>{saga id}/{step index}</c>, stable across attempts and restarts.</summary>
    public string IdempotencyKey => SagaKeys.Action(SagaId, StepIndex);

    /// <summary>The compensation's idempotency key: <c>{saga id}/{step index}/undo</c>.</summary>
    public string CompensationKey => SagaKeys.Compensation(SagaId, StepIndex);

    /// <summary>
    /// Which attempt this is, from 1. For an action: 1 plus the number of earlier starts recorded for the step (a value
    /// above 1 means an earlier worker started it and died or was interrupted — its effect may or may not have
    /// happened). For a compensation: the retry attempt.
    /// </summary>
    public int Attempt { get; }

    /// <summary>True in a compensation, false in an action.</summary>
    public bool IsCompensation { get; }

    /// <summary>In a compensation: true when the action's completion was recorded; false when the action started but
    /// its end is unknown (it was cancelled, failed, or its worker crashed), so its effect may be absent or partial.</summary>
    public bool ActionCompleted { get; }

    /// <summary>In a compensation: the output the action returned (when it completed and returned one), else null.</summary>
    public string? Output { get; }

    /// <inheritdoc />
    public override string ToString() => $"{SagaName}/{SagaId} step [{StepIndex}] {StepName} ({(IsCompensation ? "compensation" : "action")}, attempt {Attempt})";
}

/// <summary>The idempotency keys of a saga's steps.</summary>
public static class SagaKeys
{
    /// <summary>The action key of step <paramref name="step"/> of saga <paramref name="sagaId"/>.</summary>
    /// <param name="sagaId">The saga id.</param>
    /// <param name="step">The step index.</param>
    /// <returns><c>{saga id}/{step}</c>.</returns>
    public static string Action(string sagaId, int step) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{sagaId}/{step}");

    /// <summary>The compensation key of step <paramref name="step"/> of saga <paramref name="sagaId"/>.</summary>
    /// <param name="sagaId">The saga id.</param>
    /// <param name="step">The step index.</param>
    /// <returns><c>{saga id}/{step}/undo</c>.</returns>
    public static string Compensation(string sagaId, int step) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{sagaId}/{step}/undo");
}
