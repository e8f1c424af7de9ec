namespace Asupersync;

/// <summary>
/// Thrown by a task or region body to end with an <see cref="OutcomeKind.Err"/> outcome (an expected,
/// domain-level failure) instead of <see cref="OutcomeKind.Panicked"/> (a bug). Any other unhandled
/// exception makes the outcome Panicked.
/// </summary>
/// <example>
/// <code>
/// if (!found) throw new TaskErrorException("user not found");
/// </code>
/// </example>
public class TaskErrorException : Exception
{
    /// <summary>Creates an error with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public TaskErrorException(string message) : base(message) { }

    /// <summary>Creates an error with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying failure.</param>
    public TaskErrorException(string message, Exception? innerException) : base(message, innerException) { }
}
