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

    /// <summary>
    /// A bounded ring: sends never wait and never fail for lack of space — when <paramref name="capacity"/> items
    /// are buffered, a new item evicts the oldest buffered one (counted in <see cref="Receiver{T}.EvictedCount"/>).
    /// For latest-values feeds (telemetry, progress) where a slow reader must not slow the writers down.
    /// </summary>
    /// <remarks>
    /// The capacity bounds buffered items; a send permit (<see cref="Sender{T}.ReserveAsync"/>) is granted at once
    /// and its send may evict too. An item handed to a receive cancelled in that instant goes back to the front,
    /// unless the ring filled up meanwhile — then it is the oldest item, and it is the one evicted (and counted).
    /// </remarks>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="capacity">At least 1.</param>
    /// <returns>The sender and the receiver.</returns>
    /// <example>
    /// <code>
    /// var (tx, rx) = Mpsc.EvictOldest&lt;Reading&gt;(capacity: 100);
    /// tx.TrySend(reading);                 // always true while the channel is open
    /// Console.WriteLine($"dropped so far: {rx.EvictedCount}");
    /// </code>
    /// </example>
    public static (Sender<T> Sender, Receiver<T> Receiver) EvictOldest<T>(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        var core = new MpscCore<T>(capacity, evictOldest: true);
        return (new Sender<T>(core), new Receiver<T>(core));
    }
}
