using Asupersync.Kernel;
namespace Asupersync.Channels;

/// <summary>
/// Creates receive-with-ack channels: every received item is a <see cref="Delivery{T}"/>, an obligation of kind
/// <see cref="ObligationKind.Ack"/> that the receiver must acknowledge; a rejected (nacked) or abandoned delivery
/// is redelivered first.
/// </summary>
/// <example>
/// <code>
/// var (tx, rx) = AckChannel.Create&lt;Job&gt;(capacity: 32);
/// using var d = await rx.ReceiveAsync(cx);
/// await ProcessAsync(cx, d.Value);   // a cancel or crash here redelivers the job
/// d.Ack();
/// </code>
/// </example>
public static class AckChannel
{
    /// <summary>Creates a bounded receive-with-ack channel.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="capacity">Slots, counting unacknowledged deliveries; at least 1.</param>
    /// <returns>An ordinary mpsc sender and an acknowledging receiver.</returns>
    public static (Sender<T> Sender, AckReceiver<T> Receiver) Create<T>(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        var core = new MpscCore<T>(capacity);
        return (new Sender<T>(core), new AckReceiver<T>(core));
    }
}

/// <summary>The receiving side of a receive-with-ack channel.</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <remarks>
/// An unacknowledged delivery keeps its slot, so redelivery never exceeds the capacity, and the channel reports
/// its end only when nothing is left to redeliver. Cancel-safe like <see cref="Receiver{T}"/>.
/// </remarks>
public sealed class AckReceiver<T> : IDisposable
{
    private readonly MpscCore<T> _core;

    internal AckReceiver(MpscCore<T> core) => _core = core;

    /// <summary>Receives the next item as a delivery to acknowledge. A checkpoint; cancel-safe.</summary>
    /// <param name="cx">The receiving task's context; that task holds the delivery.</param>
    /// <returns>The delivery.</returns>
    /// <exception cref="ChannelClosedException">The channel is completed and drained, or closed.</exception>
    public async ValueTask<Delivery<T>> ReceiveAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        if (ChoicePoint.IsActive(cx.Task)) await ChoicePoint.YieldAsync(cx.Task);
        var item = await _core.ReceiveAsync(cx, holdSlot: true);
        return Wrap(cx, item);
    }

    /// <summary>
    /// Reads deliveries until the channel completes (normally: the sequence ends; with an error: it throws
    /// <see cref="ChannelClosedException"/>). Acknowledge each delivery before asking for the next one.
    /// </summary>
    /// <param name="cx">The reading task's context; it holds each delivery.</param>
    /// <param name="cancellationToken">Ignored (cancellation comes through <paramref name="cx"/>); present for <c>WithCancellation</c>.</param>
    /// <returns>The deliveries, in order.</returns>
    public async IAsyncEnumerable<Delivery<T>> ReadAllAsync(Cx cx, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cx);
        while (true)
        {
            Delivery<T> d;
            try
            {
                d = await ReceiveAsync(cx);
            }
            catch (ChannelClosedException e) when (e.Error is null)
            {
                yield break;
            }
            yield return d;
        }
    }

    /// <summary>Takes the next buffered item as a delivery; never waits.</summary>
    /// <param name="cx">The receiving task's context.</param>
    /// <param name="delivery">The delivery.</param>
    /// <returns>True when an item was taken.</returns>
    public bool TryReceive(Cx cx, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Delivery<T>? delivery)
    {
        ArgumentNullException.ThrowIfNull(cx);
        if (!_core.TryReceive(out var item, holdSlot: true))
        {
            delivery = null;
            return false;
        }
        delivery = Wrap(cx, item);
        return true;
    }

    private Delivery<T> Wrap(Cx cx, T item)
    {
        var d = new Delivery<T>(_core, item);
        try
        {
            d.Obligation = cx.Reserve(ObligationKind.Ack, "delivery awaiting ack", d.OnResolved);
        }
        catch
        {
            _core.Nack(item);
            throw;
        }
        return d;
    }

    /// <summary>Closes the channel from the receiving side (see <see cref="Receiver{T}.Close"/>).</summary>
    /// <param name="error">The error to report to senders, or null.</param>
    /// <returns>True if this call closed it.</returns>
    public bool Close(Exception? error = null) => _core.CloseReceiver(error);

    /// <summary>Closes the channel. Idempotent.</summary>
    public void Dispose() => _core.CloseReceiver(null);
}

/// <summary>
/// A received item awaiting acknowledgement: an obligation of kind <see cref="ObligationKind.Ack"/>.
/// <see cref="Ack"/> commits it; <see cref="Nack"/>, <see cref="Dispose"/>, a cancel or a crash of the holder
/// redelivers the item (first in line). Forgetting it in a task that ends normally is reported as a leak, and
/// the item is redelivered.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
public sealed class Delivery<T> : IDisposable
{
    private readonly MpscCore<T> _core;

    internal Delivery(MpscCore<T> core, T value)
    {
        _core = core;
        Value = value;
    }

    internal Obligation Obligation { get; set; } = null!;

    /// <summary>The item.</summary>
    public T Value { get; }

    /// <summary>True until acknowledged or rejected.</summary>
    public bool IsPending => Obligation.State == ObligationState.Reserved;

    /// <summary>Acknowledges the item: it is done and its slot is freed. Only the receiving task may call it.</summary>
    public void Ack() => Obligation.Commit();

    /// <summary>Rejects the item: it is redelivered first. Only the receiving task may call it.</summary>
    /// <param name="message">Why, for diagnostics.</param>
    public void Nack(string? message = null) => Obligation.Abort(message);

    /// <summary>Rejects the item if it is still pending (redelivery); otherwise does nothing. Idempotent.</summary>
    public void Dispose() => Obligation.Dispose();

    internal void OnResolved(Obligation obligation, ObligationState state)
    {
        if (state == ObligationState.Committed) _core.Ack();
        else _core.Nack(Value);
    }
}
