using Asupersync.Kernel;
namespace Asupersync.Channels;

/// <summary>
/// The sending side of an mpsc channel (<see cref="Mpsc"/>). Several tasks may share one sender or hold clones
/// (<see cref="Clone"/>); the channel completes when every sender handle is disposed or one calls
/// <see cref="Complete"/>.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
/// <remarks>
/// <para>Sends are FIFO-fair: senders waiting for space are served in arrival order.</para>
/// <para><b>Cancel-safety.</b> A cancel while <see cref="SendAsync"/> or <see cref="ReserveAsync"/> waits for
/// space takes no slot and sends nothing; a slot granted in that very instant is passed on to the next sender.
/// For effects that must not be half done, use the two-phase <see cref="ReserveAsync"/>: the returned
/// <see cref="SendPermit{T}"/> is an obligation, released automatically if the task is cancelled.</para>
/// </remarks>
/// <example>
/// <code>
/// var (tx, rx) = Mpsc.Bounded&lt;int&gt;(16);
/// cx.Spawn("producer", async cx =>
/// {
///     using (tx)
///         for (int i = 0; i &lt; 100; i++) await tx.SendAsync(cx, i);
/// });
/// await foreach (var i in rx.ReadAllAsync(cx)) Console.WriteLine(i);
/// </code>
/// </example>
public sealed class Sender<T> : IDisposable
{
    private readonly MpscCore<T> _core;
    private int _disposed;

    internal Sender(MpscCore<T> core) => _core = core;

    internal MpscCore<T> Core => _core;

    /// <summary>The channel's capacity, or null when it is unbounded.</summary>
    public int? Capacity => _core.Capacity == int.MaxValue ? null : _core.Capacity;

    /// <summary>True once the channel no longer accepts sends (completed by a sender or closed by the receiver).</summary>
    public bool IsClosed => _core.IsCompleted;

    /// <summary>
    /// Sends <paramref name="item"/>, waiting for space if the channel is full. A checkpoint; cancel-safe: if the
    /// task is cancelled while waiting, nothing is sent and no slot is held.
    /// </summary>
    /// <param name="cx">The sending task's context.</param>
    /// <param name="item">The item.</param>
    /// <returns>A task completing when the item is in the channel.</returns>
    /// <exception cref="ChannelClosedException">The channel is closed (its error, if any, is the inner exception).</exception>
    /// <exception cref="CancelledException">The task was cancelled before or while waiting; nothing was sent.</exception>
    public ValueTask SendAsync(Cx cx, T item)
    {
        ArgumentNullException.ThrowIfNull(cx);
        if (ChoicePoint.IsActive(cx.Task)) return ChoicePoint.BeforeAsync(cx.Task, (_core, cx, item), static s => s.Item1.SendAsync(s.cx, s.item));
        return _core.SendAsync(cx, item);
    }

    /// <summary>
    /// Reserves a slot, waiting for space if the channel is full: the first phase of a two-phase send. A
    /// checkpoint; cancel-safe.
    /// </summary>
    /// <param name="cx">The reserving task's context; that task holds the permit.</param>
    /// <returns>The permit; call <see cref="SendPermit{T}.Send"/> or dispose it.</returns>
    /// <exception cref="ChannelClosedException">The channel is closed.</exception>
    /// <exception cref="CancelledException">The task was cancelled before or while waiting; no slot is held.</exception>
    public ValueTask<SendPermit<T>> ReserveAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        if (ChoicePoint.IsActive(cx.Task)) return ChoicePoint.BeforeAsync(cx.Task, (_core, cx), static s => s.Item1.ReserveAsync(s.cx));
        return _core.ReserveAsync(cx);
    }

    /// <summary>Reserves a slot if one is free and no sender is queued; never waits.</summary>
    /// <param name="cx">The reserving task's context.</param>
    /// <param name="permit">The permit when a slot was reserved.</param>
    /// <returns>True when reserved; false when the channel is full or closed.</returns>
    public bool TryReserve(Cx cx, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SendPermit<T>? permit)
    {
        ArgumentNullException.ThrowIfNull(cx);
        return _core.TryReserve(cx, out permit);
    }

    /// <summary>Sends if there is space and no sender is queued; never waits.</summary>
    /// <param name="item">The item.</param>
    /// <returns>True when sent; false when the channel is full or closed.</returns>
    public bool TrySend(T item) => _core.TrySend(item);

    /// <summary>A new sender handle for the same channel (the channel completes when every handle is disposed).</summary>
    /// <returns>The clone.</returns>
    /// <exception cref="ObjectDisposedException">Every handle was already disposed.</exception>
    public Sender<T> Clone()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _core.AddSenderHandle();
        return new Sender<T>(_core);
    }

    /// <summary>
    /// Completes the channel for every sender: no new sends; the receiver still reads everything buffered or
    /// reserved, then sees the end — normally, or with <paramref name="error"/> raised as the inner exception of
    /// a <see cref="ChannelClosedException"/>. Idempotent: the first completion wins.
    /// </summary>
    /// <param name="error">The error to report to the receiver, or null for a normal end.</param>
    /// <returns>True if this call completed the channel.</returns>
    public bool Complete(Exception? error = null) => _core.Complete(error);

    /// <summary>Releases this handle; the last handle to go completes the channel normally. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _core.ReleaseSenderHandle();
    }
}
