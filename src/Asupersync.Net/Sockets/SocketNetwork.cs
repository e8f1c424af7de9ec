using System.Net;
using System.Net.Sockets;
using Asupersync.Kernel;
using Asupersync.Time;

namespace Asupersync.Net.Sockets;

/// <summary>The production network provider: <see cref="System.Net.Sockets.Socket"/> underneath.</summary>
internal sealed class SocketNetwork : INetworkProvider
{
    internal static readonly SocketNetwork Instance = new();

    public IListenerTransport Bind(Cx cx, IPEndPoint endPoint, int backlog)
    {
        var s = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any)) s.DualMode = true;
            s.Bind(endPoint);
            s.Listen(backlog);
        }
        catch
        {
            s.Dispose();
            throw;
        }
        return new SocketListenerTransport(s);
    }

    public ValueTask<IStreamTransport> ConnectAsync(Cx cx, IPEndPoint endPoint, TimeSpan? timeout) => ConnectOp.Start(cx, endPoint, timeout);

    /// <summary>
    /// A connect attempt as a kernel wait: a cancel or the timeout cancels the attempt through its own token
    /// (not the task's, which stays cancelled for the whole drain), and a socket that connects after the wait
    /// already ended is disposed, never leaked.
    /// </summary>
    private sealed class ConnectOp : WaitOp<IStreamTransport>
    {
        private readonly Socket _socket;
        private readonly CancellationTokenSource _cts = new();
        private TimerEntry? _timer;
        private Task? _connect;

        private ConnectOp(TaskCore waiter, Socket socket) : base(waiter) => _socket = socket;

        internal static ValueTask<IStreamTransport> Start(Cx cx, IPEndPoint endPoint, TimeSpan? timeout)
        {
            var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            var op = new ConnectOp(cx.Task, socket);
            var rt = cx.Task.Runtime;
            if (timeout is { } t)
            {
                var now = rt.Now;
                var due = t >= TimeSpan.MaxValue - now ? TimeSpan.MaxValue : now + t;
                op._timer = rt.AddTimer(due, static s => ((ConnectOp)s!).OnTimeout(), op);
            }
            rt.Observer?.OnWait(cx.Task, "tcp-connect", 0);
            try
            {
                op._connect = socket.ConnectAsync(endPoint, op._cts.Token).AsTask();
            }
            catch (Exception e)
            {
                op._timer?.Cancel();
                socket.Dispose();
                return ValueTask.FromException<IStreamTransport>(NetErrors.Map(e));
            }
            op._connect.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(op.OnConnectDone);
            op.Register();
            return op.AsValueTask();
        }

        private void OnConnectDone()
        {
            _timer?.Cancel();
            if (_connect!.Status == TaskStatus.RanToCompletion)
            {
                if (!TrySetResult(new SocketStreamTransport(_socket))) _socket.Dispose(); // the wait already ended
            }
            else
            {
                _socket.Dispose();
                var ex = _connect.Exception?.InnerException ?? new OperationCanceledException();
                TrySetException(NetErrors.Map(ex));
            }
            _cts.Dispose();
        }

        private void OnTimeout()
        {
            if (TrySetException(new TimeoutException("The TCP connect attempt timed out."))) Cancel();
        }

        protected override void OnInterrupted()
        {
            _timer?.Cancel();
            Cancel();
        }

        private void Cancel()
        {
            try { _cts.Cancel(); }
            catch (ObjectDisposedException) { /* the attempt already finished */ }
        }
    }
}
