using System.Net;
using System.Net.Sockets;

namespace Asupersync.Net.Sockets;

/// <summary>
/// A connected socket with cancel-safe reads and writes.
/// </summary>
/// <remarks>
/// <para><b>Reads</b> go through a stream-owned receive buffer: the socket receive is never given the caller's
/// memory. A read interrupted by a cancel leaves its socket receive pending; whatever it brings is kept and
/// returned by the next read. So an interrupted read consumes nothing, and no late completion can write into a
/// buffer the caller has moved on from.</para>
/// <para><b>Writes</b> copy the caller's data into a stream-owned send buffer, chunk by chunk. A write interrupted
/// by a cancel leaves the chunk in flight pending (it keeps its own buffer); the next write waits for it first,
/// so bytes stay in order. The caller cannot know how much of an interrupted write went out.</para>
/// <para>Socket operations are not given the task's cancellation token: during the drain that token stays
/// cancelled, and a draining task must still be able to write its goodbye. Interrupts come from the kernel
/// wait instead; close and abort end whatever is still pending.</para>
/// </remarks>
internal sealed class SocketStreamTransport : IStreamTransport
{
    private const int BufferSize = 16 * 1024;

    private readonly Socket _socket;
    private readonly byte[] _recv = new byte[BufferSize];
    private int _recvStart, _recvEnd;
    private Task<int>? _pendingRecv;
    private bool _eof;
    private int _reading;

    private readonly byte[] _send = new byte[BufferSize];
    private Task<int>? _pendingSend;
    private int _writing;
    private int _closed;

    internal SocketStreamTransport(Socket socket)
    {
        _socket = socket;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        RemoteEndPoint = (IPEndPoint)socket.RemoteEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public IPEndPoint RemoteEndPoint { get; }

    public async ValueTask<int> ReadAsync(Cx cx, Memory<byte> buffer, TimeSpan? deadline)
    {
        if (Interlocked.Exchange(ref _reading, 1) != 0) throw new InvalidOperationException("Only one read may be outstanding on a TcpStream.");
        try
        {
            while (true)
            {
                if (_recvStart < _recvEnd) return CopyOut(buffer.Span);
                if (_eof) return 0;
                if (Volatile.Read(ref _closed) != 0) throw NetErrors.ClosedLocally();
                int n;
                if (_pendingRecv is null)
                {
                    ValueTask<int> vt;
                    try
                    {
                        vt = _socket.ReceiveAsync(_recv.AsMemory(), SocketFlags.None, CancellationToken.None);
                    }
                    catch (Exception e)
                    {
                        throw NetErrors.Map(e);
                    }
                    if (vt.IsCompletedSuccessfully)
                    {
                        Filled(vt.Result);
                        continue;
                    }
                    _pendingRecv = vt.AsTask();
                }
                try
                {
                    n = await NetWait<int>.Start(cx, _pendingRecv, deadline);
                }
                catch (Exception e) when (e is not OperationCanceledException and not TimeoutException)
                {
                    _pendingRecv = null;
                    throw NetErrors.Map(e);
                }
                _pendingRecv = null;
                Filled(n);
            }
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    private void Filled(int n)
    {
        if (n == 0) _eof = true;
        _recvStart = 0;
        _recvEnd = n;
    }

    private int CopyOut(Span<byte> dest)
    {
        int n = Math.Min(dest.Length, _recvEnd - _recvStart);
        _recv.AsSpan(_recvStart, n).CopyTo(dest);
        _recvStart += n;
        return n;
    }

    public async ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data)
    {
        if (Interlocked.Exchange(ref _writing, 1) != 0) throw new InvalidOperationException("Only one write may be outstanding on a TcpStream.");
        try
        {
            await FinishPendingSendAsync(cx);
            while (data.Length > 0)
            {
                if (Volatile.Read(ref _closed) != 0) throw NetErrors.ClosedLocally();
                int n = Math.Min(data.Length, _send.Length);
                data.Span[..n].CopyTo(_send);
                ValueTask<int> vt;
                try
                {
                    vt = _socket.SendAsync(_send.AsMemory(0, n), SocketFlags.None, CancellationToken.None);
                }
                catch (Exception e)
                {
                    throw NetErrors.Map(e);
                }
                if (vt.IsCompletedSuccessfully)
                {
                    _ = vt.Result;
                }
                else
                {
                    _pendingSend = vt.AsTask();
                    await FinishPendingSendAsync(cx);
                }
                data = data[n..];
            }
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    private async ValueTask FinishPendingSendAsync(Cx cx)
    {
        if (_pendingSend is not { } p) return;
        try
        {
            await NetWait<int>.Start(cx, p, null); // interrupted: stays pending, the next write or shutdown waits for it
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _pendingSend = null;
            throw NetErrors.Map(e);
        }
        _pendingSend = null;
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
        static void Observe(Task? t) => t?.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        Observe(_pendingRecv);
        Observe(_pendingSend);
    }
}
