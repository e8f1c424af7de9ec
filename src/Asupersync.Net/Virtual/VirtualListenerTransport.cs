using Asupersync.Kernel;
using System.Net;

namespace Asupersync.Net.Virtual;

/// <summary>A virtual listening endpoint: a backlog of connections waiting to be accepted.</summary>
internal sealed class VirtualListenerTransport : IListenerTransport
{
    private readonly object _gate = new();
    private readonly VirtualNetwork _net;
    private readonly Queue<VirtualStreamTransport> _backlog = new();
    private readonly int _maxBacklog;
    private ReadinessOp? _waiter;
    private bool _closed;

    internal VirtualListenerTransport(VirtualNetwork net, IPEndPoint local, int backlog)
    {
        _net = net;
        LocalEndPoint = local;
        _maxBacklog = Math.Max(1, backlog);
    }

    public IPEndPoint LocalEndPoint { get; }

    public async ValueTask<IStreamTransport> AcceptAsync(Cx cx)
    {
        while (true)
        {
            ReadinessOp op;
            VirtualStreamTransport? next = null;
            lock (_gate)
            {
                if (_backlog.Count > 0) next = _backlog.Dequeue();
                else if (_closed) throw NetErrors.ClosedLocally();
                else
                {
                    op = new ReadinessOp(cx.Task, o => { lock (_gate) if (ReferenceEquals(_waiter, o)) _waiter = null; });
                    _waiter = op;
                    goto wait;
                }
            }
            if (!_net.Chaos(IoFault.AcceptFailure, cx, $"accept on {LocalEndPoint}")) return next;
            // Chaos: the connection failed before the server got it (ECONNABORTED, transient); its client sees a reset.
            next.Abort();
            throw new IOException("Software caused connection abort.", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionAborted));
        wait:
            op.Register();
            await op.AsUntypedValueTask();
        }
    }

    /// <summary>Queues the server end of a new connection; false when closed or the backlog is full (refused).</summary>
    internal bool Offer(VirtualStreamTransport serverEnd)
    {
        ReadinessOp? w;
        lock (_gate)
        {
            if (_closed || _backlog.Count >= _maxBacklog) return false;
            _backlog.Enqueue(serverEnd);
            w = _waiter;
            _waiter = null;
        }
        w?.Wake();
        return true;
    }

    public void Close()
    {
        VirtualStreamTransport[] pending;
        ReadinessOp? w;
        lock (_gate)
        {
            if (_closed) return;
            _closed = true;
            pending = _backlog.ToArray();
            _backlog.Clear();
            w = _waiter;
            _waiter = null;
        }
        _net.Unbind(this);
        foreach (var c in pending) c.Abort(); // not accepted: the client sees a reset
        w?.Wake();
    }
}
