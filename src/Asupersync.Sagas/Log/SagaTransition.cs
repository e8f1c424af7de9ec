namespace Asupersync.Sagas;

/// <summary>A transition recorded in the saga log. Each is written (durably) before the effect it guards.</summary>
/// <remarks>The numeric values are stored in the log; they never change meaning.</remarks>
public enum SagaTransition
{
    /// <summary>The saga exists: its definition name, step names and kinds, and input (in <see cref="SagaLogRecord.Data"/>). Always the first record.</summary>
    SagaStarted = 1,

    /// <summary>A step's action is about to run (written before the action: its effect may follow).</summary>
    StepStarted = 2,

    /// <summary>A step's action returned; <see cref="SagaLogRecord.Data"/> is its output.</summary>
    StepCompleted = 3,

    /// <summary>A step's action failed (Err or Panicked); <see cref="SagaLogRecord.Data"/> describes the error.</summary>
    StepFailed = 4,

    /// <summary>The saga decided to compensate; <see cref="SagaLogRecord.Data"/> is the cause. No forward step runs after it.</summary>
    SagaAborting = 5,

    /// <summary>A step's compensation is about to run.</summary>
    CompensationStarted = 6,

    /// <summary>A step's compensation succeeded.</summary>
    StepCompensated = 7,

    /// <summary>A step's compensation still failed after its retries: the saga ends CompensationFailed naming the step (final until reopened).</summary>
    CompensationFailed = 8,

    /// <summary>Every step completed (final).</summary>
    SagaCompleted = 9,

    /// <summary>Every started step was compensated (final).</summary>
    SagaCompensated = 10,

    /// <summary>A CompensationFailed saga was reopened to retry its compensation.</summary>
    SagaReopened = 11,
}

/// <summary>The state of a saga as its log says.</summary>
public enum SagaState
{
    /// <summary>Running forward (or interrupted in its forward phase).</summary>
    Running,

    /// <summary>Compensating (or interrupted while compensating).</summary>
    Compensating,

    /// <summary>Every step completed.</summary>
    Completed,

    /// <summary>Every started step was compensated.</summary>
    Compensated,

    /// <summary>A compensation failed after its retries; the step is named in the result. Needs attention (reopen to retry).</summary>
    CompensationFailed,

    /// <summary>
    /// The run stopped before reaching a final state — the log store failed, the lease was lost, or the cleanup budget
    /// ran out while compensating. The log holds where it stopped; recovery finishes it. (A run's result only, never a
    /// logged state.)
    /// </summary>
    Interrupted,
}
