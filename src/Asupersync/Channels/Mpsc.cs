namespace Asupersync.Channels;

/// <summary>Creates multi-producer single-consumer channels.</summary>
/// <example>
/// <code>
/// var (tx, rx) = Mpsc.Bounded&lt;string&gt;(capacity: 64);
/// await tx.SendAsync(cx, "hello");
/// var s = await rx.ReceiveAsync(cx);
/// </code>
/// </example>
public static class Mpsc
{
    /// <summary>A bounded channel: sends wait while <paramref name="capacity"/> items are buffered or reserved.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="capacity">At least 1.</param>
    /// <returns>The sender and the receiver.</returns>
    public static (Sender<T> Sender, Receiver<T> Receiver) Bounded<T>(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        var core = new MpscCore<T>(capacity);
        return (new Sender<T>(core), new Receiver<T>(core));
    }

    /// <summary>An unbounded channel: sends never wait (memory is the limit).</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <returns>The sender and the receiver.</returns>
    public static (Sender<T> Sender, Receiver<T> Receiver) Unbounded<T>()
    {
        var core = new MpscCore<T>(int.MaxValue);
        return (new Sender<T>(core), new Receiver<T>(core));
    }
}
