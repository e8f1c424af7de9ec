using System.Net;

namespace Asupersync.Net;

/// <summary>
/// A connected TCP stream: read, write, half-close (<see cref="ShutdownAsync"/>), graceful close
/// (<see cref="Close"/>, <see cref="DisposeAsync"/>) and abort (<see cref="Abort"/>). Every waiting operation takes
/// the calling task's <see cref="Cx"/>, is a checkpoint, and documents what a cancel leaves behind.
/// </summary>
/// <remarks>
/// <para>Closing is idempotent and records the <em>first</em> reason (<see cref="CloseReason"/>); abort (RST, data
/// dropped) is distinct from a graceful close (FIN after queued data). One read and one write may be outstanding
/// at the same time (full duplex), from different tasks.</para>
/// </remarks>
public sealed class TcpStream : IAsyncDisposable, IDisposable
{
    private readonly IStreamTransport _transport;
    private string? _closeReason;
    private int _state; // 0 open, 1 closed, 2 aborted

    internal TcpStream(IStreamTransport transport) => _transport = transport;

    /// <summary>The local endpoint.</summary>
    public IPEndPoint LocalEndPoint => _transport.LocalEndPoint;

    /// <summary>The peer's endpoint.</summary>
    public IPEndPoint RemoteEndPoint => _transport.RemoteEndPoint;

    /// <summary>True once closed or aborted.</summary>
    public bool IsClosed => Volatile.Read(ref _state) != 0;

    /// <summary>True when the stream ended by <see cref="Abort"/> rather than a graceful close.</summary>
    public bool IsAborted => Volatile.Read(ref _state) == 2;

    /// <summary>The reason given to the first <see cref="Close"/> or <see cref="Abort"/>, or null while open.</summary>
    public string? CloseReason => Volatile.Read(ref _closeReason);

    /// <summary>
    /// Reads up to <paramref name="buffer"/>.Length bytes. A checkpoint; needs <see cref="Capabilities.IO"/>.
    /// </summary>
    /// <remarks>
    /// <para><b>Cancel-safety:</b> cancel-safe — a cancelled read consumes nothing. Bytes that arrive for a read
    /// that was cancelled are kept inside the stream and returned by the next read; nothing is ever written into
    /// <paramref name="buffer"/> after this call returned or threw.</para>
    /// </remarks>
    /// <param name="cx">The reading task's context.</param>
    /// <param name="buffer">Where to put the bytes.</param>
    /// <returns>The number of bytes read (at least 1), or 0 when the peer closed its sending side.</returns>
    /// <exception cref="IOException">The connection was reset, or closed locally.</exception>
    public ValueTask<int> ReadAsync(Cx cx, Memory<byte> buffer)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO);
        cx.Checkpoint();
        if (IsClosed) throw NetErrors.ClosedLocally();
        if (buffer.IsEmpty) return new ValueTask<int>(0);
        return _transport.ReadAsync(cx, buffer, null);
    }

    /// <summary>
    /// Reads like <see cref="ReadAsync(Cx, Memory{byte})"/>, bounded by <paramref name="budget"/>: when its deadline
    /// (or timeout, measured from now) passes first, the read ends with <see cref="TimeoutException"/>. The task
    /// is not cancelled — this is how a protocol bounds an idle or slow peer (a header-read budget). Needs
    /// <see cref="Capabilities.IO"/>, and <see cref="Capabilities.Time"/> too when the budget has a deadline or
    /// timeout (it reads the clock and arms a timer).
    /// </summary>
    /// <remarks><b>Cancel-safety:</b> cancel-safe and timeout-safe: a read that was cancelled or timed out consumes nothing.</remarks>
    /// <param name="cx">The reading task's context.</param>
    /// <param name="buffer">Where to put the bytes.</param>
    /// <param name="budget">The deadline or timeout of this read (e.g. <c>Budget.Timeout(TimeSpan.FromSeconds(10))</c>); unlimited means none.</param>
    /// <returns>The number of bytes read, or 0 at end of stream.</returns>
    /// <exception cref="TimeoutException">The budget ran out first.</exception>
    /// <exception cref="IOException">The connection was reset, or closed locally.</exception>
    public ValueTask<int> ReadAsync(Cx cx, Memory<byte> buffer, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(budget.Deadline is null && budget.RelativeTimeout is null ? Capabilities.IO : Capabilities.IO | Capabilities.Time);
        cx.Checkpoint();
        if (IsClosed) throw NetErrors.ClosedLocally();
        if (buffer.IsEmpty) return new ValueTask<int>(0);
        return _transport.ReadAsync(cx, buffer, WaitBudget.DeadlineOf(cx, budget));
    }

    /// <summary>
    /// Waits until a read would not wait — a byte, end of stream or an error is there — holding no buffer and
    /// consuming nothing: how a server waits on an idle connection without keeping memory for it. Bounded by
    /// <paramref name="budget"/> like <see cref="ReadAsync(Cx, Memory{byte}, Budget)"/> (<see cref="TimeoutException"/>).
    /// A checkpoint; counts as the one outstanding read. Needs what that overload needs.
    /// </summary>
    /// <remarks><b>Cancel-safety:</b> cancel-safe and timeout-safe: it consumes nothing.</remarks>
    internal ValueTask WaitReadableAsync(Cx cx, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(budget.Deadline is null && budget.RelativeTimeout is null ? Capabilities.IO : Capabilities.IO | Capabilities.Time);
        cx.Checkpoint();
        if (IsClosed) throw NetErrors.ClosedLocally();
        return _transport.WaitReadableAsync(cx, WaitBudget.DeadlineOf(cx, budget));
    }

    /// <summary>Bytes of buffers the stream holds right now (a diagnostic: zero while idle on real sockets).</summary>
    internal int HeldBufferBytes => _transport.HeldBufferBytes;

    /// <summary>True when bytes from the peer have arrived and not been read yet (a snapshot; consumes nothing).</summary>
    internal bool HasUnreadData => !IsClosed && _transport.HasUnreadData;

    /// <summary>
    /// Writes all of <paramref name="data"/> (returns when the bytes were handed to the network). A checkpoint;
    /// needs <see cref="Capabilities.IO"/>.
    /// </summary>
    /// <remarks>
    /// <para><b>Cancel-safety:</b> <em>not</em> atomic. A write cancelled while waiting may already have sent a
    /// prefix of <paramref name="data"/>, and the chunk that was in flight keeps going out in the background (from
    /// a buffer the stream owns: <paramref name="data"/> is not read after the call ended). Later writes are sent
    /// after it, in order. A protocol that cannot tolerate a partial message should close or
    /// <see cref="Abort"/> the stream after a cancelled write.</para>
    /// </remarks>
    /// <param name="cx">The writing task's context.</param>
    /// <param name="data">The bytes.</param>
    /// <returns>A task completing when all bytes were handed over.</returns>
    /// <exception cref="IOException">The connection was reset, or closed locally.</exception>
    public ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO);
        cx.Checkpoint();
        if (IsClosed) throw NetErrors.ClosedLocally();
        if (data.IsEmpty) return ValueTask.CompletedTask;
        return _transport.WriteAsync(cx, data, null);
    }

    /// <summary>
    /// Writes like <see cref="WriteAsync(Cx, ReadOnlyMemory{byte})"/>, bounded by <paramref name="budget"/>: when its
    /// deadline (or timeout, measured from now) passes before every byte was handed over — the peer stopped
    /// reading — the write ends with <see cref="TimeoutException"/>. The task is not cancelled. Needs
    /// <see cref="Capabilities.IO"/>, and <see cref="Capabilities.Time"/> when the budget has a deadline or timeout.
    /// </summary>
    /// <remarks><b>Cancel-safety:</b> as <see cref="WriteAsync(Cx, ReadOnlyMemory{byte})"/>: after a cancel or a
    /// timeout an unknown prefix went out, and the chunk in flight stays pending; a protocol then aborts the stream.</remarks>
    /// <param name="cx">The writing task's context.</param>
    /// <param name="data">The bytes.</param>
    /// <param name="budget">The deadline or timeout of this write; unlimited means none.</param>
    /// <returns>A task completing when all bytes were handed over.</returns>
    /// <exception cref="TimeoutException">The budget ran out first.</exception>
    /// <exception cref="IOException">The connection was reset, or closed locally.</exception>
    public ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(budget.Deadline is null && budget.RelativeTimeout is null ? Capabilities.IO : Capabilities.IO | Capabilities.Time);
        cx.Checkpoint();
        if (IsClosed) throw NetErrors.ClosedLocally();
        if (data.IsEmpty) return ValueTask.CompletedTask;
        return _transport.WriteAsync(cx, data, WaitBudget.DeadlineOf(cx, budget));
    }

    /// <summary>
    /// Half-closes the stream: sends FIN after every byte written before, so the peer reads end of stream; this
    /// side can still read. A checkpoint; needs <see cref="Capabilities.IO"/>.
    /// </summary>
    /// <remarks>
    /// <b>Cancel-safety:</b> cancel-safe. If a cancelled write is still in flight it is waited for first; a cancel
    /// during that wait leaves the sending side open (the FIN was not sent).
    /// </remarks>
    /// <param name="cx">The task's context.</param>
    /// <returns>A task completing once FIN was queued.</returns>
    /// <exception cref="IOException">The connection was reset, or closed locally.</exception>
    public ValueTask ShutdownAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO);
        cx.Checkpoint();
        if (IsClosed) throw NetErrors.ClosedLocally();
        return _transport.ShutdownSendAsync(cx);
    }

    /// <summary>
    /// Graceful close: FIN after the data already handed over; pending reads end. Idempotent — the first call's
    /// <paramref name="reason"/> is kept. Never waits and never throws, so it is safe in <c>finally</c> and while
    /// draining. If a cancelled write is still in flight the stream is aborted instead (waiting for a peer that may
    /// never read is not a close).
    /// </summary>
    /// <param name="reason">Why, for diagnostics (<see cref="CloseReason"/>).</param>
    public void Close(string? reason = null)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) return;
        Volatile.Write(ref _closeReason, reason ?? "closed");
        _transport.Close();
    }

    /// <summary>
    /// Abort: resets the connection (RST); unsent data is dropped and the peer sees a reset. Idempotent — if the
    /// stream was already closed this does nothing and the first reason stays. Never waits, never throws.
    /// </summary>
    /// <param name="reason">Why, for diagnostics (<see cref="CloseReason"/>).</param>
    public void Abort(string? reason = null)
    {
        if (Interlocked.CompareExchange(ref _state, 2, 0) != 0) return;
        Volatile.Write(ref _closeReason, reason ?? "aborted");
        _transport.Abort();
    }

    /// <summary>Graceful close (<see cref="Close"/>) with the reason "disposed" if none was recorded.</summary>
    public void Dispose() => Close("disposed");

    /// <summary>Graceful close (<see cref="Close"/>); never waits.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Close("disposed");
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"TcpStream({LocalEndPoint} -> {RemoteEndPoint}{(IsClosed ? ", " + CloseReason : "")})";
}
