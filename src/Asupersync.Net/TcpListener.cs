using System.Net;

namespace Asupersync.Net;

/// <summary>
/// A listening TCP endpoint, created with <see cref="TcpCx.TcpBindAsync(Cx, string, int)"/>. Accept connections
/// with <see cref="AcceptAsync"/>; dispose it (<c>await using</c>) to stop listening.
/// </summary>
/// <remarks>Runs over real sockets, or over the <see cref="VirtualNetwork"/> when one is installed on the runtime.</remarks>
public sealed class TcpListener : IAsyncDisposable, IDisposable
{
    private readonly IListenerTransport _transport;
    private int _closed;

    internal TcpListener(IListenerTransport transport) => _transport = transport;

    /// <summary>The bound endpoint (with the actual port when bound to port 0).</summary>
    public IPEndPoint LocalEndPoint => _transport.LocalEndPoint;

    /// <summary>True once the listener was closed.</summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// Waits for the next connection. A checkpoint; needs <see cref="Capabilities.IO"/>.
    /// </summary>
    /// <remarks>
    /// <para><b>Cancel-safety:</b> cancel-safe. A cancel while waiting raises <see cref="CancelledException"/> and
    /// loses no connection: an accept that was under way stays pending inside the listener and its connection is
    /// returned by the next call (or reset when the listener is disposed).</para>
    /// <para>Only one accept may be outstanding at a time.</para>
    /// </remarks>
    /// <param name="cx">The accepting task's context.</param>
    /// <returns>The connected stream (the caller owns it: dispose it) and the peer's endpoint.</returns>
    /// <exception cref="IOException">The listener failed or was closed.</exception>
    public async ValueTask<(TcpStream Stream, IPEndPoint RemoteEndPoint)> AcceptAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO);
        cx.Checkpoint();
        if (IsClosed) throw NetErrors.ClosedLocally();
        var t = await _transport.AcceptAsync(cx);
        return (new TcpStream(t), t.RemoteEndPoint);
    }

    /// <summary>Stops listening. Idempotent; connections not yet accepted are reset. Accepted streams are unaffected.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        _transport.Close();
    }

    /// <summary>Same as <see cref="Close"/>.</summary>
    public void Dispose() => Close();

    /// <summary>Same as <see cref="Close"/>; never waits.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"TcpListener({LocalEndPoint}{(IsClosed ? ", closed" : "")})";
}
