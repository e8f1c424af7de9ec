using System.Net;
using System.Net.Sockets;
using Asupersync.Net.Sockets;

namespace Asupersync.Net;

/// <summary>TCP operations on a <see cref="Cx"/>: bind and connect. Each needs <see cref="Capabilities.IO"/>.</summary>
public static class TcpCx
{
    /// <summary>The default listen backlog.</summary>
    public const int DefaultBacklog = 512;

    /// <summary>
    /// Binds a listener to <paramref name="endPoint"/> (<c>"127.0.0.1:8080"</c>, <c>"[::1]:0"</c>,
    /// <c>"localhost:0"</c>, <c>"0.0.0.0:8080"</c>; port 0 picks a free port, see
    /// <see cref="TcpListener.LocalEndPoint"/>). A checkpoint. Binding never waits, so there is nothing for a
    /// cancel to interrupt: it either happened (dispose the listener) or it did not.
    /// </summary>
    /// <param name="cx">The task's context.</param>
    /// <param name="endPoint">Address and port.</param>
    /// <param name="backlog">The listen backlog.</param>
    /// <returns>The listener; dispose it to stop listening.</returns>
    /// <exception cref="FormatException">The endpoint does not parse.</exception>
    /// <exception cref="IOException">The address is in use or cannot be bound.</exception>
    public static ValueTask<TcpListener> TcpBindAsync(this Cx cx, string endPoint, int backlog = DefaultBacklog) =>
        cx.TcpBindAsync(ParseEndPoint(endPoint), backlog);

    /// <summary>Binds a listener to <paramref name="endPoint"/>; see <see cref="TcpBindAsync(Cx, string, int)"/>.</summary>
    /// <param name="cx">The task's context.</param>
    /// <param name="endPoint">Address and port.</param>
    /// <param name="backlog">The listen backlog.</param>
    /// <returns>The listener.</returns>
    /// <exception cref="IOException">The address is in use or cannot be bound.</exception>
    public static ValueTask<TcpListener> TcpBindAsync(this Cx cx, IPEndPoint endPoint, int backlog = DefaultBacklog)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(backlog);
        cx.Require(Capabilities.IO);
        cx.DemandResource("net:bind:" + endPoint);
        cx.Checkpoint();
        try
        {
            return new ValueTask<TcpListener>(new TcpListener(ProviderOf(cx).Bind(cx, endPoint, backlog)));
        }
        catch (SocketException e)
        {
            throw NetErrors.Map(e);
        }
    }

    /// <summary>
    /// Connects to <paramref name="endPoint"/>. A checkpoint; needs <see cref="Capabilities.IO"/>, and
    /// <see cref="Capabilities.Time"/> too when a <c>timeout</c> is given.
    /// </summary>
    /// <remarks>
    /// <b>Cancel-safety:</b> cancel-safe. A cancel (or the timeout) ends the attempt; a connection that completes
    /// after the wait ended is closed, never leaked, and never returned.
    /// </remarks>
    /// <param name="cx">The task's context.</param>
    /// <param name="endPoint">Where to connect (<c>"127.0.0.1:8080"</c>).</param>
    /// <param name="timeout">How long the attempt may take (runtime clock); null for no limit beyond the task's budget.</param>
    /// <returns>The connected stream; the caller owns it.</returns>
    /// <exception cref="TimeoutException">The timeout elapsed.</exception>
    /// <exception cref="IOException">The connection was refused or failed.</exception>
    public static ValueTask<TcpStream> TcpConnectAsync(this Cx cx, string endPoint, TimeSpan? timeout = null) =>
        cx.TcpConnectAsync(ParseEndPoint(endPoint), timeout);

    /// <summary>Connects to <paramref name="endPoint"/>; see <see cref="TcpConnectAsync(Cx, string, TimeSpan?)"/>.</summary>
    /// <param name="cx">The task's context.</param>
    /// <param name="endPoint">Where to connect.</param>
    /// <param name="timeout">How long the attempt may take; null for no limit.</param>
    /// <returns>The connected stream; the caller owns it.</returns>
    /// <exception cref="TimeoutException">The timeout elapsed.</exception>
    /// <exception cref="IOException">The connection was refused or failed.</exception>
    public static async ValueTask<TcpStream> TcpConnectAsync(this Cx cx, IPEndPoint endPoint, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(endPoint);
        if (timeout is { } t) ArgumentOutOfRangeException.ThrowIfLessThan(t, TimeSpan.Zero, nameof(timeout));
        cx.Require(timeout is null ? Capabilities.IO : Capabilities.IO | Capabilities.Time);
        cx.DemandResource("net:connect:" + endPoint);
        cx.Checkpoint();
        return new TcpStream(await ProviderOf(cx).ConnectAsync(cx, endPoint, timeout));
    }

    /// <summary>Parses <c>host:port</c> where host is an IP literal (IPv6 in brackets) or <c>localhost</c>.</summary>
    /// <param name="endPoint">The text.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="FormatException">It does not parse.</exception>
    public static IPEndPoint ParseEndPoint(string endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (endPoint.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(endPoint.AsSpan("localhost:".Length), out var port) && port is >= 0 and <= 65535)
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }
        if (IPEndPoint.TryParse(endPoint, out var ep) && endPoint.Contains(':', StringComparison.Ordinal)) return ep;
        throw new FormatException($"'{endPoint}' is not an endpoint of the form address:port (e.g. 127.0.0.1:8080).");
    }

    internal static INetworkProvider ProviderOf(Cx cx) =>
        cx.Task.Runtime.GetOrAddService<INetworkProvider>(static _ => SocketNetwork.Instance);
}
