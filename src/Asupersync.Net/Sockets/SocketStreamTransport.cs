using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace Asupersync.Net.Sockets;

/// <summary>
/// A connected socket with cancel-safe reads and writes, holding no buffer while idle.
/// </summary>
/// <remarks>
/// <para><b>Reads</b> are non-blocking receives straight into the caller's memory; when nothing is there, the read
/// waits for readability with a zero-byte receive, which consumes nothing. So an interrupted read consumes
/// nothing, no late completion can write into a buffer the caller has moved on from, and a connection waiting for
/// its peer holds no receive buffer at all.</para>
/// <para><b>Writes</b> go out with non-blocking sends straight from the caller's memory; what the socket does not
/// take at once is copied into a send buffer rented for as long as that send is in flight. A write interrupted by a
/// cancel leaves the chunk in flight pending (it keeps its rented buffer); the next write waits for it first, so
/// bytes stay in order. The caller cannot know how much of an interrupted write went out.</para>
/// <para>Socket operations are not given the task's cancellation token: during the drain that token stays
/// cancelled, and a draining task must still be able to write its goodbye. Interrupts come from the kernel
/// wait instead; close and abort end whatever is still pending.</para>
/// </remarks>
internal sealed class SocketStreamTransport : IStreamTransport
{
    private const int BufferSize = 16 * 1024;

    private readonly Socket _socket;
    private Task<int>? _pendingReady; // a zero-byte receive: readability, consumes nothing
    private bool _eof;
    private int _reading;

    private byte[]? _send; // rented while a send is in flight
    private Task<int>? _pendingSend;
    private int _writing;
    private int _closed;

    internal SocketStreamTransport(Socket socket)
    {
        _socket = socket;
        _socket.Blocking = false; // receives and sends try the syscall at once and report WouldBlock
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        RemoteEndPoint = (IPEndPoint)socket.RemoteEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public IPEndPoint RemoteEndPoint { get; }

    public bool HasUnreadData
    {
        get
        {
            if (Volatile.Read(ref _closed) != 0) return false;
            try
            {
                return _socket.Available > 0;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return false;
            }
        }
    }

    public int HeldBufferBytes => Volatile.Read(ref _send)?.Length ?? 0;

    public async ValueTask<int> ReadAsync(Cx cx, Memory<byte> buffer, TimeSpan? deadline)
    {
        if (Interlocked.Exchange(ref _reading, 1) != 0) throw new InvalidOperationException("Only one read may be outstanding on a TcpStream.");
        try
        {
            while (true)
            {
                if (_eof) return 0;
                if (Volatile.Read(ref _closed) != 0) throw NetErrors.ClosedLocally();
                if (_pendingReady is null)
                {
                    int n;
                    SocketError err;
                    try
                    {
                        n = _socket.Receive(buffer.Span, SocketFlags.None, out err);
                    }
                    catch (Exception e)
                    {
                        throw NetErrors.Map(e);
                    }
                    if (err == SocketError.Success)
                    {
                        if (n == 0) _eof = true;
                        return n;
                    }
                    if (err != SocketError.WouldBlock) throw NetErrors.Map(new SocketException((int)err));
                    if (StartReadinessWait()) continue;
                }
                await AwaitReadinessAsync(cx, deadline);
            }
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    public async ValueTask WaitReadableAsync(Cx cx, TimeSpan? deadline)
    {
        if (Interlocked.Exchange(ref _reading, 1) != 0) throw new InvalidOperationException("Only one read may be outstanding on a TcpStream.");
        try
        {
            if (_eof) return;
            if (Volatile.Read(ref _closed) != 0) throw NetErrors.ClosedLocally();
            if (_pendingReady is null && StartReadinessWait()) return;
            await AwaitReadinessAsync(cx, deadline);
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    /// <summary>Starts a zero-byte receive; true when it completed at once (readable now).</summary>
    private bool StartReadinessWait()
    {
        ValueTask<int> vt;
        try
        {
            vt = _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, CancellationToken.None);
        }
        catch (Exception e)
        {
            throw NetErrors.Map(e);
        }
        if (vt.IsCompletedSuccessfully) return true;
        _pendingReady = vt.AsTask();
        return false;
    }

    private async ValueTask AwaitReadinessAsync(Cx cx, TimeSpan? deadline)
    {
        try
        {
            // Interrupted or timed out: the zero-byte receive stays pending and is waited for by the next read.
            await NetWait<int>.Start(cx, _pendingReady!, deadline);
        }
        catch (Exception e) when (e is not OperationCanceledException and not TimeoutException)
        {
            _pendingReady = null;
            throw NetErrors.Map(e);
        }
        _pendingReady = null;
    }

    public async ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data, TimeSpan? deadline)
    {
        if (Interlocked.Exchange(ref _writing, 1) != 0) throw new InvalidOperationException("Only one write may be outstanding on a TcpStream.");
        try
        {
            await FinishPendingSendAsync(cx, deadline);
            while (data.Length > 0)
            {
                if (Volatile.Read(ref _closed) != 0) throw NetErrors.ClosedLocally();
                int sent;
                SocketError err;
                try
                {
                    sent = _socket.Send(data.Span, SocketFlags.None, out err);
                }
                catch (Exception e)
                {
                    throw NetErrors.Map(e);
                }
                if (err == SocketError.Success)
                {
                    data = data[sent..];
                    continue;
                }
                if (err != SocketError.WouldBlock) throw NetErrors.Map(new SocketException((int)err));

                // The socket is full: the next chunk goes out from a rented buffer, so nothing reads the caller's
                // memory after this call ended.
                int n = Math.Min(data.Length, BufferSize);
                var buf = ArrayPool<byte>.Shared.Rent(n);
                data.Span[..n].CopyTo(buf);
                ValueTask<int> vt;
                try
                {
                    vt = _socket.SendAsync(buf.AsMemory(0, n), SocketFlags.None, CancellationToken.None);
                }
                catch (Exception e)
                {
                    ArrayPool<byte>.Shared.Return(buf);
                    throw NetErrors.Map(e);
                }
                if (vt.IsCompletedSuccessfully)
                {
                    _ = vt.Result;
                    ArrayPool<byte>.Shared.Return(buf);
                }
                else
                {
                    Volatile.Write(ref _send, buf);
                    _pendingSend = vt.AsTask();
                    await FinishPendingSendAsync(cx, deadline);
                }
                data = data[n..];
            }
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    private async ValueTask FinishPendingSendAsync(Cx cx, TimeSpan? deadline = null)
    {
        if (_pendingSend is not { } p) return;
        try
        {
            await NetWait<int>.Start(cx, p, deadline); // interrupted or timed out: stays pending, the next write or shutdown waits for it
        }
        catch (Exception e) when (e is not OperationCanceledException and not TimeoutException)
        {
            _pendingSend = null;
            ReturnSendBuffer();
            throw NetErrors.Map(e);
        }
        _pendingSend = null;
        ReturnSendBuffer();
    }

    private void ReturnSendBuffer()
    {
        var b = Interlocked.Exchange(ref _send, null);
        if (b is not null) ArrayPool<byte>.Shared.Return(b);
    }

    public async ValueTask ShutdownSendAsync(Cx cx)
    {
        await FinishPendingSendAsync(cx);
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e)
        {
            throw NetErrors.Map(e);
        }
    }

    public void Close()
    {
        if (_pendingSend is { IsCompleted: false })
        {
            Abort(); // a graceful close would have to wait for a peer that may never read
            return;
        }
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (Exception) { /* already reset by the peer: closing is all that is left */ }
        _socket.Dispose();
        ObservePending();
    }

    public void Abort()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        try { _socket.LingerState = new LingerOption(true, 0); }
        catch (Exception) { /* closed underneath us */ }
        _socket.Dispose();
        ObservePending();
    }

    private void ObservePending()
    {
        // Close makes a pending receive or send fault; observe it so it never surfaces as unobserved.
        _pendingReady?.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        // The send buffer goes back to the pool only once the socket is done with it.
        if (_pendingSend is { } send)
        {
            send.ContinueWith(static (t, s) =>
            {
                _ = t.Exception;
                ((SocketStreamTransport)s!).ReturnSendBuffer();
            }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        else
        {
            ReturnSendBuffer();
        }
    }
}
