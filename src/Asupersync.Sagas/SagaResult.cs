namespace Asupersync.Sagas;

/// <summary>How one step of a saga ended, as far as the log says.</summary>
/// <param name="Index">The step's index.</param>
/// <param name="Name">The step's name.</param>
/// <param name="Kind">Its operation kind.</param>
/// <param name="Starts">How many times its action started (more than 1 after a crash or an interruption).</param>
/// <param name="Completed">Whether its action's completion was recorded.</param>
/// <param name="Compensated">Whether its compensation succeeded.</param>
public sealed record SagaStepReport(int Index, string Name, SagaOpKind Kind, int Starts, bool Completed, bool Compensated);

/// <summary>The result of a saga run: its final state, which step failed, which compensation failed, each step's fate.</summary>
public sealed class SagaResult
{
    internal SagaResult(string sagaId, string sagaName, SagaState state, IReadOnlyList<SagaStepReport> steps, string? failedStep, string? cause,
        string? compensationFailedStep, string? compensationError, Exception? interruption)
    {
        SagaId = sagaId;
        SagaName = sagaName;
        State = state;
        Steps = steps;
        FailedStep = failedStep;
        Cause = cause;
        CompensationFailedStep = compensationFailedStep;
        CompensationError = compensationError;
        Interruption = interruption;
    }

    /// <summary>The saga instance's id.</summary>
    public string SagaId { get; }

    /// <summary>The definition's name.</summary>
    public string SagaName { get; }

    /// <summary>How it ended: Completed, Compensated, CompensationFailed or Interrupted.</summary>
    public SagaState State { get; }

    /// <summary>Every step, in declaration order.</summary>
    public IReadOnlyList<SagaStepReport> Steps { get; }

    /// <summary>The step whose failure made the saga compensate, or null (completed, cancelled, or recovered with the Compensate policy).</summary>
    public string? FailedStep { get; }

    /// <summary>Why the saga compensated (the failure or cancel, as recorded), or null.</summary>
    public string? Cause { get; }

    /// <summary>For CompensationFailed: the step whose compensation still failed after its retries.</summary>
    public string? CompensationFailedStep { get; }

    /// <summary>For CompensationFailed: the compensation's last error, as recorded.</summary>
    public string? CompensationError { get; }

    /// <summary>For Interrupted: what stopped the run (a store error, a lost lease, the cleanup budget).</summary>
    public Exception? Interruption { get; }

    /// <inheritdoc />
    public override string ToString() => State switch
    {
        SagaState.Completed => $"saga '{SagaName}' {SagaId}: completed",
        SagaState.Compensated => $"saga '{SagaName}' {SagaId}: compensated{(FailedStep is null ? "" : $" after step '{FailedStep}' failed")}{(Cause is null ? "" : ": " + Cause)}",
        SagaState.CompensationFailed => $"saga '{SagaName}' {SagaId}: CompensationFailed at step '{CompensationFailedStep}': {CompensationError}",
        _ => $"saga '{SagaName}' {SagaId}: {State}{(Interruption is null ? "" : ": " + Interruption.Message)}",
    };
}

/// <summary>A saga did not complete. The <see cref="Result"/> says how it ended. Carried by an Err outcome.</summary>
public abstract class SagaException : TaskErrorException
{
    private protected SagaException(string message, SagaResult result, Exception? inner) : base(message, inner) => Result = result;

    /// <summary>How the saga ended.</summary>
    public SagaResult Result { get; }
}

/// <summary>A step failed (Err), and every started step was compensated.</summary>
public sealed class SagaAbortedException : SagaException
{
    internal SagaAbortedException(SagaResult result, Exception? cause)
        : base($"saga '{result.SagaName}' {result.SagaId} was compensated{(result.FailedStep is null ? "" : $" after step '{result.FailedStep}' failed")}{(result.Cause is null ? "" : ": " + result.Cause)}", result, cause) { }
}

/// <summary>A compensation still failed after its retries: the saga ended CompensationFailed, naming the step. Reported
/// as Err even when the saga was cancelled, so that a cancel never hides it.</summary>
public sealed class SagaCompensationFailedException : SagaException
{
    internal SagaCompensationFailedException(SagaResult result, Exception? last)
        : base($"saga '{result.SagaName}' {result.SagaId}: CompensationFailed at step '{result.CompensationFailedStep}': {result.CompensationError}", result, last) { }

    /// <summary>The step whose compensation failed.</summary>
    public string Step => Result.CompensationFailedStep!;
}

/// <summary>The run stopped before a final state (store failure, lost lease, cleanup budget spent while compensating);
/// the log holds where it stopped, and recovery finishes it.</summary>
public sealed class SagaInterruptedException : SagaException
{
    internal SagaInterruptedException(SagaResult result)
        : base($"saga '{result.SagaName}' {result.SagaId} was interrupted: {result.Interruption?.Message}; recovery will finish it from the log", result, result.Interruption) { }
}
