using System.Net;
using System.Net.Sockets;

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
    private int _failures; // consecutive transient accept failures (only the accepting task touches it)
    private TimeSpan _lastReport = TimeSpan.MinValue;
    private bool _reported;
    private long _acceptFailures;

    internal TcpListener(IListenerTransport transport) => _transport = transport;

    /// <summary>The bound endpoint (with the actual port when bound to port 0).</summary>
    public IPEndPoint LocalEndPoint => _transport.LocalEndPoint;

    /// <summary>Transient accept failures so far (each retried; see <see cref="AcceptAsync"/>).</summary>
    public long AcceptFailures => Interlocked.Read(ref _acceptFailures);

    /// <summary>True once the listener was closed.</summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// Waits for the next connection. A checkpoint; needs <see cref="Capabilities.IO"/>.
    /// </summary>
    /// <remarks>
    /// <para><b>Cancel-safety:</b> cancel-safe. A cancel while waiting raises <see cref="CancelledException"/> and
    /// loses no connection: an accept that was under way stays pending inside the listener and its connection is
    /// returned by the next call (or reset when the listener is disposed).</para>
    /// <para><b>Transient failures</b> — out of file descriptors (EMFILE, ENFILE), of buffers or memory (ENOBUFS,
    /// ENOMEM), a connection aborted before it was accepted — do not end the listener: when the Cx has
    /// <see cref="Capabilities.Time"/>, the accept is retried with a backoff (10 ms doubling to 1 s, a cancel-safe
    /// sleep) while every connection already accepted keeps being served, and each streak is reported as an
    /// <see cref="DiagnosticKind.AcceptFailed"/> diagnostic (at most once a second), as is the recovery. Without
    /// Time the failure is thrown as an <see cref="IOException"/>; the listener stays usable. Over real sockets the
    /// listener also holds a small reserve of descriptors that it gives back to the process at the first EMFILE
    /// (the .NET runtime cannot start a thread without one), and accepts again only once there is room.</para>
    /// <para>Only one accept may be outstanding at a time.</para>
    /// </remarks>
    /// <param name="cx">The accepting task's context.</param>
    /// <returns>The connected stream (the caller owns it: dispose it) and the peer's endpoint.</returns>
    /// <exception cref="IOException">The listener failed (a fatal error) or was closed.</exception>
    public async ValueTask<(TcpStream Stream, IPEndPoint RemoteEndPoint)> AcceptAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO);
        while (true)
        {
            cx.Checkpoint();
            if (IsClosed) throw NetErrors.ClosedLocally();
            IStreamTransport t;
            try
            {
                t = await _transport.AcceptAsync(cx);
            }
            catch (IOException e) when (IsTransient(e) && !IsClosed && (cx.Capabilities & Capabilities.Time) != 0)
            {
                Interlocked.Increment(ref _acceptFailures);
                var backoff = TimeSpan.FromMilliseconds(Math.Min(1000, 10 << Math.Min(_failures, 7)));
                _failures++;
                var now = cx.Task.Runtime.Now;
                if (_lastReport == TimeSpan.MinValue || now - _lastReport >= TimeSpan.FromSeconds(1))
                {
                    _lastReport = now;
                    _reported = true;
                    cx.Task.Runtime.Diagnostics.Report(DiagnosticKind.AcceptFailed, cx.Task,
                        $"accept on {LocalEndPoint} failed ({e.Message}), {_failures} time(s) in a row; retrying in {backoff.TotalMilliseconds:0} ms — accepted connections are still served");
                }
                await cx.SleepAsync(backoff);
                continue;
            }
            if (_failures > 0)
            {
                if (_reported) cx.Task.Runtime.Diagnostics.Report(DiagnosticKind.AcceptFailed, cx.Task, $"accept on {LocalEndPoint} recovered after {_failures} failure(s)");
                _failures = 0;
                _reported = false;
            }
            return (new TcpStream(t), t.RemoteEndPoint);
        }
    }

    /// <summary>Accept errors that say "not now" rather than "this listener is broken".</summary>
    internal static bool IsTransient(IOException e) => e.InnerException is SocketException se && se.SocketErrorCode is
        SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable or SocketError.ConnectionAborted
        or SocketError.ConnectionReset or SocketError.SystemNotReady or SocketError.ProcessLimit;

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
