using Asupersync.Kernel;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Asupersync.Channels;

/// <summary>The receiving side of an mpsc channel (<see cref="Mpsc"/>).</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <remarks>
/// <para>Items arrive in the order their sends (or permit sends) completed.</para>
/// <para><b>Cancel-safety.</b> A cancel while <see cref="ReceiveAsync"/> waits loses no item: the item stays in
/// the channel, and an item handed over in the very instant of the cancel goes back to the front of the
/// channel. A receive that completed before the cancel returns its item; the cancel is raised at the next
/// checkpoint.</para>
/// <para>Disposing the receiver closes the channel: pending and future sends fail with
/// <see cref="ChannelClosedException"/> and buffered items are dropped.</para>
/// </remarks>
/// <example>
/// <code>
/// await foreach (var job in rx.ReadAllAsync(cx))
///     await HandleAsync(cx, job);
/// </code>
/// </example>
public sealed class Receiver<T> : IDisposable
{
    private readonly MpscCore<T> _core;

    internal Receiver(MpscCore<T> core) => _core = core;

    internal MpscCore<T> Core => _core;

    /// <summary>How many items are buffered (a snapshot).</summary>
    public int Count => _core.Count;

    /// <summary>True once no more sends are accepted (items may still be buffered).</summary>
    public bool IsCompleted => _core.IsCompleted;

    /// <summary>Receives the next item, waiting if the channel is empty. A checkpoint; cancel-safe.</summary>
    /// <param name="cx">The receiving task's context.</param>
    /// <returns>The item.</returns>
    /// <exception cref="ChannelClosedException">The channel is completed and drained, or closed (its error is the inner exception).</exception>
    /// <exception cref="CancelledException">The task was cancelled before or while waiting; no item was taken.</exception>
    public ValueTask<T> ReceiveAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        if (ChoicePoint.IsActive(cx.Task)) return ChoicePoint.BeforeAsync(cx.Task, (_core, cx), static s => s.Item1.ReceiveAsync(s.cx));
        return _core.ReceiveAsync(cx);
    }

    /// <summary>Items dropped so far because the channel is an evict-oldest ring (<see cref="Mpsc.EvictOldest{T}"/>) that was full; 0 for other channels.</summary>
    public long EvictedCount => _core.Evicted;

    /// <summary>Reads the next item without taking it, if one is buffered; never waits. A later receive returns the same item (unless an evict-oldest ring dropped it meanwhile).</summary>
    /// <param name="item">The item.</param>
    /// <returns>True when an item is buffered.</returns>
    public bool TryPeek([MaybeNullWhen(false)] out T item) => _core.TryPeek(out item);

    /// <summary>Takes the next item if one is buffered; never waits.</summary>
    /// <param name="item">The item.</param>
    /// <returns>True when an item was taken.</returns>
    public bool TryReceive([MaybeNullWhen(false)] out T item) => _core.TryReceive(out item);

    /// <summary>
    /// Reads items until the channel completes. The sequence ends normally on a normal completion and throws
    /// <see cref="ChannelClosedException"/> when the senders completed it with an error.
    /// </summary>
    /// <param name="cx">The reading task's context.</param>
    /// <param name="cancellationToken">Ignored by the runtime (cancellation comes through <paramref name="cx"/>); present for <c>WithCancellation</c>.</param>
    /// <returns>The items, in order.</returns>
    public async IAsyncEnumerable<T> ReadAllAsync(Cx cx, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cx);
        while (true)
        {
            T item;
            try
            {
                item = await _core.ReceiveAsync(cx);
            }
            catch (ChannelClosedException e) when (e.Error is null)
            {
                yield break;
            }
            yield return item;
        }
    }

    /// <summary>
    /// Closes the channel from the receiving side: sends fail from now on (with <paramref name="error"/> as the
    /// inner exception), buffered items are dropped. Idempotent.
    /// </summary>
    /// <param name="error">The error to report to the senders, or null.</param>
    /// <returns>True if this call closed the channel.</returns>
    public bool Close(Exception? error = null) => _core.CloseReceiver(error);

    /// <summary>Closes the channel (see <see cref="Close"/>). Idempotent.</summary>
    public void Dispose() => _core.CloseReceiver(null);
}
