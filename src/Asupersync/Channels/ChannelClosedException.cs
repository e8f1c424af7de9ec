namespace Asupersync.Channels;

/// <summary>
/// Raised by a channel operation when the channel is closed: a send after the receiver closed it (or after the
/// senders completed it), or a receive after the senders completed it and every item was read.
/// </summary>
/// <remarks>
/// It derives from <see cref="TaskErrorException"/>, so a task that lets it propagate ends
/// <see cref="OutcomeKind.Err"/> (an expected condition), not Panicked. When a side closed the channel with an
/// error, that error is the <see cref="Exception.InnerException"/> and reaches the other side.
/// </remarks>
public sealed class ChannelClosedException : TaskErrorException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was attempted.</param>
    /// <param name="error">The error the channel was closed with, if any.</param>
    public ChannelClosedException(string message, Exception? error = null) : base(error is null ? message : $"{message}: {error.Message}", error) { }

    /// <summary>The error the channel was closed with, or null for a normal completion.</summary>
    public Exception? Error => InnerException;
}
