using System.Net;

namespace Asupersync.Net;

/// <summary>
/// The seam between the public TCP API and what carries the bytes: real sockets in production
/// (<see cref="Sockets.SocketNetwork"/>) or the in-memory <see cref="VirtualNetwork"/>. One provider per runtime,
/// stored with <c>RuntimeCore.SetService</c>; the same server code runs on either.
/// </summary>
/// <remarks>
/// Implementations do no capability checks and no leading checkpoint: <see cref="TcpListener"/> and
/// <see cref="TcpStream"/> do both before calling in. Every wait must resume through the driver (a kernel wait
/// operation or <c>cx.AwaitAsync</c>) and must be cancel-safe in the sense documented on the public methods.
/// </remarks>
internal interface INetworkProvider
{
    /// <summary>Binds and listens. Synchronous: binding never waits.</summary>
    IListenerTransport Bind(Cx cx, IPEndPoint endPoint, int backlog);

    /// <summary>Connects; <paramref name="timeout"/> ends the attempt with <see cref="TimeoutException"/>.</summary>
    ValueTask<IStreamTransport> ConnectAsync(Cx cx, IPEndPoint endPoint, TimeSpan? timeout);
}

/// <summary>A bound, listening endpoint.</summary>
internal interface IListenerTransport
{
    IPEndPoint LocalEndPoint { get; }

    /// <summary>Accepts one connection. Cancel-safe: an interrupted accept loses no connection.</summary>
    ValueTask<IStreamTransport> AcceptAsync(Cx cx);

    /// <summary>Stops listening; idempotent. Connections not yet accepted are reset.</summary>
    void Close();
}

/// <summary>One end of a connection.</summary>
internal interface IStreamTransport
{
    IPEndPoint LocalEndPoint { get; }

    IPEndPoint RemoteEndPoint { get; }

    /// <summary>
    /// Reads at least one byte, or 0 at end of stream. Cancel-safe: an interrupted read consumes nothing. At
    /// <paramref name="deadline"/> (runtime clock) the wait ends with <see cref="TimeoutException"/>, also consuming nothing.
    /// </summary>
    ValueTask<int> ReadAsync(Cx cx, Memory<byte> buffer, TimeSpan? deadline);

    /// <summary>
    /// Waits until a read would not wait (a byte, end of stream or an error is there), holding no buffer and
    /// consuming nothing; cancel-safe and timeout-safe as <see cref="ReadAsync"/>. The default returns at once
    /// (the next read then does the waiting), which is correct, only not frugal.
    /// </summary>
    ValueTask WaitReadableAsync(Cx cx, TimeSpan? deadline) => ValueTask.CompletedTask;

    /// <summary>
    /// True when bytes from the peer have arrived and not been read (a read now returns data without waiting). A
    /// snapshot that consumes nothing; false when unknown.
    /// </summary>
    bool HasUnreadData => false;

    /// <summary>Bytes of buffers this transport holds right now (a diagnostic).</summary>
    int HeldBufferBytes => 0;

    /// <summary>Writes all of <paramref name="data"/>. An interrupted write may have sent (or queued) a prefix.</summary>
    ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data, TimeSpan? deadline);

    /// <summary>Half-closes the sending side after earlier writes.</summary>
    ValueTask ShutdownSendAsync(Cx cx);

    /// <summary>Graceful close (FIN after queued data) when nothing is pending, otherwise an abort. Idempotent.</summary>
    void Close();

    /// <summary>Hard close (RST); pending operations fail. Idempotent.</summary>
    void Abort();
}
