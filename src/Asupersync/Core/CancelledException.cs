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
        : base(DefaultMessage)
    {
        Reason = reason ?? throw new ArgumentNullException(nameof(reason));
    }

    /// <summary>Creates the exception for a reason and a token (used by the token bridge).</summary>
    /// <param name="reason">Why the task was cancelled.</param>
    /// <param name="token">The token that the bridge cancelled.</param>
    public CancelledException(CancelReason reason, CancellationToken token)
        : base(DefaultMessage, token)
    {
        Reason = reason ?? throw new ArgumentNullException(nameof(reason));
    }

    // A constant: the base class would otherwise look its default message up in the resources, under a
    // process-wide lock, for every cancelled task.
    private const string DefaultMessage = "The task was cancelled.";

    /// <summary>Why the task was cancelled.</summary>
    public CancelReason Reason { get; }

    /// <summary>The reason, formatted when first asked for (cancelling many tasks builds no strings).</summary>
    public override string Message => Reason.ToString();
}
