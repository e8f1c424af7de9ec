namespace Asupersync;

/// <summary>
/// The four ways a task or region can end, ordered by severity:
/// <c>Ok &lt; Err &lt; Cancelled &lt; Panicked</c>. Joining outcomes keeps the most severe.
/// </summary>
public enum OutcomeKind
{
    /// <summary>The body returned a value.</summary>
    Ok = 0,

    /// <summary>The body reported an expected error (see <see cref="TaskErrorException"/>).</summary>
    Err = 1,

    /// <summary>The body was cancelled by the runtime; the outcome carries the <see cref="CancelReason"/>.</summary>
    Cancelled = 2,

    /// <summary>The body threw an unexpected exception; the exception is kept.</summary>
    Panicked = 3,
}
