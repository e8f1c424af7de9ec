using Asupersync.Net;
using Asupersync.Time;

namespace Asupersync.Http;

/// <summary>
/// A cancel-correct HTTP/1.1 server: keep-alive, pipelining, Content-Length and chunked bodies in both
/// directions, <c>Expect: 100-continue</c>, limits with the proper 4xx, and a per-request region owned by the
/// connection. Use <see cref="ServeAsync"/> for the whole accept loop with shutdown phases, or
/// <see cref="ServeConnectionAsync"/> inside your own accept loop (the one-screen server).
/// </summary>
/// <remarks>
/// <para><b>Shutdown</b> follows the cancel protocol: cancelling the task that serves a connection (or the
/// listener task that owns the connections' region) is the drain request. An idle connection closes at once; a
/// request being read is answered 503 and closed; a request whose handler is running gets the cancel inside its
/// region — if the handler still produces a response it is sent with <c>Connection: close</c>, otherwise the
/// client gets a 503 and a close. A response half-written when the budget ends is aborted, never left hanging.</para>
/// <para><b>Smuggling defences:</b> Content-Length together with Transfer-Encoding, several Content-Length
/// fields, Transfer-Encoding in HTTP/1.0, codings other than <c>chunked</c>, obsolete line folding, bare CR or
/// LF, whitespace before the colon, and malformed chunk sizes are all refused with 400 (or 501) and the
/// connection is closed — nothing after a refused request is ever parsed.</para>
/// </remarks>
/// <example><code>
/// var server = new HttpServer(new HttpRouter().MapGet("/", (cx, r) => Task.FromResult(HttpResponse.Text("hi"))));
/// await using var listener = await cx.TcpBindAsync("127.0.0.1:8080");
/// await server.ServeAsync(cx, listener); // until this task is cancelled
/// </code></example>
public sealed class HttpServer
{
    private readonly HashSet<TcpStream> _live = new();
    private int _phase;
    private long _served, _drained, _aborted, _requests;

    /// <summary>Creates a server.</summary>
    /// <param name="handler">Handles each request (an <see cref="HttpRouter"/> converts implicitly).</param>
    /// <param name="options">Limits and budgets; null for the defaults.</param>
    public HttpServer(HttpHandler handler, HttpServerOptions? options = null)
    {
        Handler = handler ?? throw new ArgumentNullException(nameof(handler));
        Options = options ?? new HttpServerOptions();
    }

    /// <summary>Creates a server for a router.</summary>
    /// <param name="router">The routes.</param>
    /// <param name="options">Limits and budgets; null for the defaults.</param>
    public HttpServer(HttpRouter router, HttpServerOptions? options = null)
        : this((router ?? throw new ArgumentNullException(nameof(router))).ToHandler(), options)
    {
    }

    internal HttpHandler Handler { get; }

    /// <summary>The limits and budgets.</summary>
    public HttpServerOptions Options { get; }

    /// <summary>The shutdown phase (meaningful for <see cref="ServeAsync"/>).</summary>
    public HttpServerPhase Phase => (HttpServerPhase)Volatile.Read(ref _phase);

    /// <summary>Connections that ended normally.</summary>
    public long ConnectionsServed => Interlocked.Read(ref _served);

    /// <summary>Connections closed cleanly because of a cancel (shutdown).</summary>
    public long ConnectionsDrained => Interlocked.Read(ref _drained);

    /// <summary>Connections aborted (reset, broken, or force-closed).</summary>
    public long ConnectionsAborted => Interlocked.Read(ref _aborted);

    /// <summary>Responses fully written.</summary>
    public long RequestsServed => Interlocked.Read(ref _requests);

    /// <summary>Connections currently being served.</summary>
    public int ActiveConnections
    {
        get { lock (_live) return _live.Count; }
    }

    /// <summary>
    /// Serves one connection until the client closes it, a limit or error closes it, or the task is cancelled
    /// (then drains it as described on <see cref="HttpServer"/>). Owns <paramref name="stream"/>: it is always
    /// closed or aborted on return. Never throws for anything the client does.
    /// </summary>
    /// <param name="cx">The connection task's context; each request's handler runs in a region it owns. Needs
    /// <see cref="Capabilities.IO"/>, <see cref="Capabilities.Time"/> (read deadlines) and <see cref="Capabilities.Spawn"/>.</param>
    /// <param name="stream">The accepted connection.</param>
    /// <returns>How the connection ended.</returns>
    public async Task<HttpConnectionEnd> ServeConnectionAsync(Cx cx, TcpStream stream)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(stream);
        cx.Require(Capabilities.IO | Capabilities.Time | Capabilities.Spawn); // socket I/O, read deadlines, a region per request
        lock (_live) _live.Add(stream);
        var end = HttpConnectionEnd.Aborted;
        try
        {
            end = await new HttpServerConnection(this, stream).RunAsync(cx);
            return end;
        }
        catch (Exception)
        {
            // Whatever a client did, one connection never fails its region (which, fail-fast, would take every
            // sibling connection down with it): the connection is aborted and counted, and that is all.
            return HttpConnectionEnd.Aborted;
        }
        finally
        {
            lock (_live) _live.Remove(stream);
            if (end == HttpConnectionEnd.Aborted) stream.Abort("connection aborted");
            else stream.Close("connection done");
            if (end == HttpConnectionEnd.Served) Interlocked.Increment(ref _served);
            else if (end == HttpConnectionEnd.Drained) Interlocked.Increment(ref _drained);
            else Interlocked.Increment(ref _aborted);
        }
    }

    internal void OnResponseWritten() => Interlocked.Increment(ref _requests);

    private sealed record DateCache(long Second, string Text);

    private DateCache _date = new(-1, ""); // replaced whole, so readers on other threads never see a torn pair

    /// <summary>The IMF-fixdate of <paramref name="now"/> (runtime wall clock: virtual in the Lab), formatted once per second.</summary>
    internal string DateHeader(DateTimeOffset now)
    {
        long second = now.ToUnixTimeSeconds();
        var cached = Volatile.Read(ref _date);
        if (cached.Second == second) return cached.Text;
        var text = now.ToString("r", System.Globalization.CultureInfo.InvariantCulture);
        Volatile.Write(ref _date, new DateCache(second, text));
        return text;
    }

    internal bool IsRunning => Phase == HttpServerPhase.Running;

    /// <summary>
    /// Accepts and serves connections on <paramref name="listener"/> until this task is cancelled, then shuts down
    /// in phases: <see cref="HttpServerPhase.Draining"/> (the listener closes; connections drain under the cancel
    /// protocol), <see cref="HttpServerPhase.ForceClosing"/> after <see cref="HttpServerOptions.DrainTimeout"/>
    /// (remaining connections are aborted), <see cref="HttpServerPhase.Stopped"/> once every connection ended.
    /// Connections live in a region owned by this task, so none outlives the call.
    /// </summary>
    /// <param name="cx">The serving task's context. Needs <see cref="Capabilities.IO"/>, <see cref="Capabilities.Time"/>
    /// (deadlines, the drain timer) and <see cref="Capabilities.Spawn"/>.</param>
    /// <param name="listener">A bound listener; it is closed on return.</param>
    /// <returns>A task completing when stopped (it ends Cancelled when the stop was a cancel).</returns>
    public async Task ServeAsync(Cx cx, TcpListener listener)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(listener);
        cx.Require(Capabilities.IO | Capabilities.Time | Capabilities.Spawn); // accept, deadlines and the drain timer, a task per connection
        TimerEntry? force = null;
        try
        {
            await cx.RegionAsync("http-connections", async rcx =>
            {
                try
                {
                    while (true)
                    {
                        var (stream, _) = await listener.AcceptAsync(rcx);
                        rcx.Spawn("http-conn", c => ServeConnectionAsync(c, stream));
                    }
                }
                catch (OperationCanceledException)
                {
                    Interlocked.CompareExchange(ref _phase, (int)HttpServerPhase.Draining, (int)HttpServerPhase.Running);
                    listener.Close();
                    var rt = rcx.Task.Runtime;
                    force = rt.AddTimer(rt.Now + Options.DrainTimeout, static s => ((HttpServer)s!).ForceClose(), this);
                    throw;
                }
            });
        }
        finally
        {
            force?.Cancel();
            listener.Close();
            Volatile.Write(ref _phase, (int)HttpServerPhase.Stopped);
        }
    }

    private void ForceClose()
    {
        if (Interlocked.CompareExchange(ref _phase, (int)HttpServerPhase.ForceClosing, (int)HttpServerPhase.Draining) != (int)HttpServerPhase.Draining) return;
        TcpStream[] live;
        lock (_live) live = _live.ToArray();
        foreach (var s in live) s.Abort("drain budget exhausted");
    }
}
