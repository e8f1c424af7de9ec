using System.Net;
using Asupersync.Net;

namespace Asupersync.Http;

/// <summary>
/// The byte stream an HTTP connection runs over: a plain <see cref="TcpStream"/> or a <see cref="TlsStream"/> on
/// top of one. A sealed class with one predictable branch per call rather than an interface, so the plain path
/// costs a null test and no virtual dispatch. The <see cref="TcpStream"/> underneath is always <see cref="Tcp"/>.
/// </summary>
internal sealed class HttpStream
{
    private readonly TcpStream _tcp;
    private readonly TlsStream? _tls;

    internal HttpStream(TcpStream tcp) => _tcp = tcp;

    internal HttpStream(TlsStream tls)
    {
        _tls = tls;
        _tcp = tls.Tcp;
    }

    /// <summary>The TCP stream (underneath the TLS one, if any).</summary>
    internal TcpStream Tcp => _tcp;

    /// <summary>The TLS stream, or null on a plain connection.</summary>
    internal TlsStream? Tls => _tls;

    internal IPEndPoint RemoteEndPoint => _tcp.RemoteEndPoint;

    internal bool IsClosed => _tcp.IsClosed;

    internal int HeldBufferBytes => _tcp.HeldBufferBytes;

    /// <summary>
    /// True when bytes from the peer have arrived at the socket and not been read (on TLS: records, which may hold
    /// a request or only an alert; reading them tells). A snapshot that consumes nothing.
    /// </summary>
    internal bool HasUnreadData => _tcp.HasUnreadData;

    internal ValueTask<int> ReadAsync(Cx cx, Memory<byte> buffer, Budget budget) =>
        _tls is null ? _tcp.ReadAsync(cx, buffer, budget) : _tls.ReadAsync(cx, buffer, budget);

    internal ValueTask WaitReadableAsync(Cx cx, Budget budget) =>
        _tls is null ? _tcp.WaitReadableAsync(cx, budget) : _tls.WaitReadableAsync(cx, budget);

    internal ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data) =>
        _tls is null ? _tcp.WriteAsync(cx, data) : _tls.WriteAsync(cx, data);

    internal ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data, Budget budget) =>
        _tls is null ? _tcp.WriteAsync(cx, data, budget) : _tls.WriteAsync(cx, data, budget);

    /// <summary>Half-close: FIN (after a TLS close_notify on a TLS connection).</summary>
    internal ValueTask ShutdownAsync(Cx cx) => _tls is null ? _tcp.ShutdownAsync(cx) : _tls.ShutdownAsync(cx);

    internal void Close(string reason)
    {
        if (_tls is null) _tcp.Close(reason);
        else _tls.Close(reason);
    }

    internal void Abort(string reason)
    {
        if (_tls is null) _tcp.Abort(reason);
        else _tls.Abort(reason);
    }
}
