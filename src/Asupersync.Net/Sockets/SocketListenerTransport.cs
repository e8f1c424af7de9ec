using System.Net;
using System.Net.Sockets;

namespace Asupersync.Net.Sockets;

/// <summary>A listening socket. An accept interrupted by a cancel stays pending and is resumed by the next accept.</summary>
internal sealed class SocketListenerTransport : IListenerTransport
{
    private readonly Socket _socket;
    private Task<Socket>? _pending;
    private int _closed;

    internal SocketListenerTransport(Socket socket)
    {
        _socket = socket;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public async ValueTask<IStreamTransport> AcceptAsync(Cx cx)
    {
        while (true)
        {
            Socket accepted;
            if (_pending is null)
            {
                ValueTask<Socket> vt;
                try
                {
                    vt = _socket.AcceptAsync(CancellationToken.None);
                }
                catch (Exception e)
                {
                    throw NetErrors.Map(e);
                }
                if (vt.IsCompletedSuccessfully)
                {
                    accepted = vt.Result;
                    return Wrap(accepted);
                }
                _pending = vt.AsTask();
            }
            try
            {
                // Interrupted by a cancel: _pending stays set, so the connection it may yet accept is
                // returned by the next AcceptAsync (or disposed by Close) — never lost.
                accepted = await NetWait<Socket>.Start(cx, _pending, null);
                _pending = null;
                return Wrap(accepted);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                _pending = null; // the peer gave up before we accepted it: not the listener's failure
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _pending = null;
                throw NetErrors.Map(e);
            }
        }
    }

    private static SocketStreamTransport Wrap(Socket s)
    {
        s.NoDelay = true;
        return new SocketStreamTransport(s);
    }

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        _socket.Dispose();
        var pending = _pending;
        _pending = null;
        // An accept that raced with close and won hands us a socket nobody will see: dispose it.
        pending?.ContinueWith(static t =>
        {
            if (t.Status == TaskStatus.RanToCompletion) t.Result.Dispose();
            else _ = t.Exception;
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
