using System.Net;

namespace Asupersync.Net.Virtual;

/// <summary>One end of a virtual connection: it reads from one pipe and writes to the other.</summary>
internal sealed class VirtualStreamTransport : IStreamTransport
{
    private readonly VirtualPipe _in, _out;
    private readonly Action? _onClose;
    private int _closed;

    internal VirtualStreamTransport(VirtualPipe input, VirtualPipe output, IPEndPoint local, IPEndPoint remote, Action? onClose)
    {
        _in = input;
        _out = output;
        LocalEndPoint = local;
        RemoteEndPoint = remote;
        _onClose = onClose;
    }

    public IPEndPoint LocalEndPoint { get; }

    public IPEndPoint RemoteEndPoint { get; }

    public ValueTask<int> ReadAsync(Cx cx, Memory<byte> buffer, TimeSpan? deadline) => _in.ReadAsync(cx, buffer, deadline);

    public bool HasUnreadData => _in.HasBufferedBytes;

    public ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data, TimeSpan? deadline) => _out.WriteAsync(cx, data, deadline);

    public ValueTask ShutdownSendAsync(Cx cx)
    {
        _out.ShutdownSend();
        return ValueTask.CompletedTask;
    }

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        _out.ShutdownSend();
        _in.CloseReader();
        _onClose?.Invoke();
    }

    public void Abort()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        _out.Reset();
        _in.Reset();
        _onClose?.Invoke();
    }
}
