namespace Asupersync;

/// <summary>
/// Raised at a checkpoint when the runtime acknowledges a cancel request for the current task. It is
/// raised once: awaits inside the <c>catch</c>/<c>finally</c> blocks that follow keep working until the
/// cleanup budget is spent. Let it propagate; the task then completes <see cref="OutcomeKind.Cancelled"/>.
/// </summary>
public sealed class CancelledException : OperationCanceledException
{
    /// <summary>Creates the exception for a reason.</summary>
    /// <param name="reason">Why the task was cancelled.</param>
    public CancelledException(CancelReason reason)
        : base(reason?.ToString() ?? throw new ArgumentNullException(nameof(reason)))
    {
        Reason = reason;
    }

    /// <summary>Creates the exception for a reason and a token (used by the token bridge).</summary>
    /// <param name="reason">Why the task was cancelled.</param>
    /// <param name="token">The token that the bridge cancelled.</param>
    public CancelledException(CancelReason reason, CancellationToken token)
        : base(reason?.ToString() ?? throw new ArgumentNullException(nameof(reason)), token)
    {
        Reason = reason;
    }

    /// <summary>Why the task was cancelled.</summary>
    public CancelReason Reason { get; }
}
