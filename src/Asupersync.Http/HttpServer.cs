using Asupersync.Kernel;
using Asupersync.Net;
using Asupersync.Sync;
using Asupersync.Time;

namespace Asupersync.Http;

/// <summary>
/// A cancel-correct HTTP/1.1 server: keep-alive, pipelining, Content-Length and chunked bodies in both
/// directions, <c>Expect: 100-continue</c>, limits with the proper 4xx, and a per-request region owned by the
/// connection. Use <see cref="ServeAsync"/> for the whole accept loop with shutdown phases, or
/// <see cref="ServeConnectionAsync"/> inside your own accept loop (the one-screen server).
/// </summary>
/// <remarks>
/// <para><b>Shutdown</b> drains like nginx, Kestrel or Go's <c>Server.Shutdown</c>: cancelling the task that
/// serves a connection (or the listener task that owns the connections' region) is the drain request. An idle
/// connection closes at once — unless bytes of its next request have already arrived (also on a connection accepted
/// but not yet started): its client sent it before the server stopped, so it is read and served like one in
/// flight; a request being read is answered 503 and closed (it was not carried out, so a client
/// may retry it); a request whose handler is running is left to run to completion — its region is opened with
/// <see cref="RegionOptions.DeferOwnerCancel"/> — and its response is sent with <c>Connection: close</c>. Only when
/// the cancel's cleanup budget is down to <see cref="HttpServerOptions.CancelGrace"/> (or, in
/// <see cref="ServeAsync"/>, after <see cref="HttpServerOptions.DrainTimeout"/>) is a handler still running
/// cancelled, under the cancel protocol; if it returns no response its client gets 503 and a close. A response a
/// handler returned is always the one sent — never replaced by an error because a cancel arrived meanwhile; if it
/// cannot be written within the budget the connection is aborted.</para>
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
    private readonly Dictionary<TcpStream, HttpServerConnection?> _live = new();
    private readonly Notify _slotFreed = new();
    private readonly long[] _byClass = new long[6];
    private int _phase;
    private long _served, _drained, _aborted, _requests;

    /// <summary>Creates a server.</summary>
    /// <param name="handler">Handles each request (an <see cref="HttpRouter"/> converts implicitly).</param>
    /// <param name="options">Limits and budgets; null for the defaults.</param>
    public HttpServer(HttpHandler handler, HttpServerOptions? options = null)
    {
        Handler = handler ?? throw new ArgumentNullException(nameof(handler));
        Options = options ?? new HttpServerOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Options.MaxConnections, "options.MaxConnections");
        RequestRegion = new RegionOptions { DeferOwnerCancel = Options.CancelGrace };
    }

    /// <summary>Each request's region: a drain lets the handler finish (see <see cref="HttpServer"/>).</summary>
    internal RegionOptions RequestRegion { get; }

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

    /// <summary>Final responses fully written — every one a client received: handler responses, refusals (400, 408,
    /// 413, 431, ...), and 503s of a shutdown.</summary>
    public long RequestsServed => Interlocked.Read(ref _requests);

    /// <summary>Responses fully written with a status of class <paramref name="statusClass"/> (1 for 1xx ... 5 for
    /// 5xx; interim <c>100 Continue</c> responses count as 1xx, and not in <see cref="RequestsServed"/>).</summary>
    /// <param name="statusClass">1 to 5.</param>
    /// <returns>The count.</returns>
    public long ResponsesOfClass(int statusClass)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusClass, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusClass, 5);
        return Interlocked.Read(ref _byClass[statusClass]);
    }

    /// <summary>
    /// One line for logs: responses by class and connections by how they ended, e.g.
    /// <c>12 responses (2xx 9, 4xx 2, 5xx 1); connections 7 served, 3 drained, 0 cancelled</c>.
    /// </summary>
    /// <returns>The summary.</returns>
    public string Summary()
    {
        var classes = string.Join(", ", Enumerable.Range(1, 5).Where(c => ResponsesOfClass(c) > 0).Select(c => $"{c}xx {ResponsesOfClass(c)}"));
        return $"{RequestsServed} responses ({(classes.Length == 0 ? "none" : classes)}); connections {ConnectionsServed} served, {ConnectionsDrained} drained, {ConnectionsAborted} cancelled";
    }

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
        var tls = Options.Tls;
        HttpStream http = new(stream); // replaced by the TLS stream once its handshake is done
        var conn = new HttpServerConnection(this, http);
        bool over;
        lock (_live)
        {
            // ServeAsync admitted it already (counted at accept); a connection from a caller's own accept loop is
            // counted here, and refused above the limit.
            over = !_live.ContainsKey(stream) && _live.Count >= Options.MaxConnections;
            if (!over) _live[stream] = tls is null ? conn : null; // a TLS connection is registered once its handshake is done
        }
        var end = HttpConnectionEnd.Aborted;
        try
        {
            if (tls is not null && !over)
            {
                (http, end) = await HandshakeAsync(cx, stream, tls);
                if (http.Tls is null) return end;
                conn = new HttpServerConnection(this, http);
                lock (_live)
                {
                    if (_live.ContainsKey(stream)) _live[stream] = conn;
                }
            }
            // Above the limit a TLS connection is closed without an answer: a plaintext 503 would be noise to its client.
            end = over ? (tls is null ? await conn.RefuseAsync(cx, 503, "too many connections") : HttpConnectionEnd.Served) : await conn.RunAsync(cx);
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
            if (!over)
            {
                lock (_live) _live.Remove(stream);
                _slotFreed.NotifyOne();
            }
            if (end == HttpConnectionEnd.Aborted) http.Abort("connection aborted");
            else http.Close("connection done");
            conn.ReleaseBuffers(); // after the close: no read can be using the buffer any more
            if (end == HttpConnectionEnd.Served) Interlocked.Increment(ref _served);
            else if (end == HttpConnectionEnd.Drained) Interlocked.Increment(ref _drained);
            else Interlocked.Increment(ref _aborted);
        }
    }

    /// <summary>
    /// The TLS handshake of a connection, under <see cref="HttpServerOptions.TlsHandshakeTimeout"/>. On failure the
    /// TCP stream was closed (a client not speaking TLS) or aborted (a stall, a cancel) by <see cref="TlsStream"/>,
    /// and the plain stream is returned with how the connection ended.
    /// </summary>
    private async ValueTask<(HttpStream Stream, HttpConnectionEnd End)> HandshakeAsync(Cx cx, TcpStream stream, System.Net.Security.SslServerAuthenticationOptions tls)
    {
        Interlocked.Increment(ref _handshaking);
        try
        {
            var s = await TlsStream.AuthenticateAsServerAsync(cx, stream, tls, Budget.Timeout(Options.TlsHandshakeTimeout));
            return (new HttpStream(s), HttpConnectionEnd.Served);
        }
        catch (OperationCanceledException)
        {
            return (new HttpStream(stream), HttpConnectionEnd.Drained); // shutdown before the handshake ended: nothing was asked yet
        }
        catch (System.Security.Authentication.AuthenticationException)
        {
            return (new HttpStream(stream), HttpConnectionEnd.Served); // not TLS (a plain-HTTP client): refused, closed cleanly
        }
        catch (Exception)
        {
            return (new HttpStream(stream), HttpConnectionEnd.Aborted); // stalled past its budget, reset, broken
        }
        finally
        {
            Interlocked.Decrement(ref _handshaking);
        }
    }

    private int _handshaking;

    /// <summary>TLS handshakes under way (a diagnostic).</summary>
    internal int HandshakesInProgress => Volatile.Read(ref _handshaking);

    /// <summary>
    /// Bytes of buffers held by the connections being served (request reader and socket send buffers): zero when
    /// every connection is idle, which is what keeps an idle keep-alive connection cheap. A diagnostic.
    /// </summary>
    internal long HeldBufferBytes()
    {
        HttpServerConnection?[] live;
        lock (_live) live = _live.Values.ToArray();
        long total = 0;
        foreach (var c in live) if (c is not null) total += c.HeldBufferBytes;
        return total;
    }

    /// <summary>
    /// Spawns a task in <paramref name="cx"/>'s region that serves <paramref name="stream"/>
    /// (<see cref="ServeConnectionAsync"/>) and owns the stream from this call on. Use it in your own accept loop
    /// instead of <c>cx.Spawn(c =&gt; server.ServeConnectionAsync(c, stream))</c>, which can lose the connection: the body
    /// of a task cancelled before its first step never runs, so nothing would close the stream (its client would wait
    /// for a response until its own timeout). Here the connection's body runs even then, with the cancel pending: a
    /// request that has already arrived is answered (with <c>Connection: close</c>) and the stream is closed, as for
    /// a connection the drain finds between requests. On the production scheduler the connection's first step runs
    /// at once, nested in the accepting step, so a request already there is read before the next accept.
    /// </summary>
    /// <param name="cx">The accepting task's context; the connection task is spawned in its region. Needs <see cref="Capabilities.Spawn"/>.</param>
    /// <param name="stream">The accepted connection.</param>
    /// <param name="name">The connection task's name (diagnostics and traces).</param>
    /// <returns>The connection task.</returns>
    /// <exception cref="CancelledException">The region no longer admits tasks because the accepting task was cancelled
    /// (an accept that completed just after the cancel): the stream was aborted, and the cancel is raised here.</exception>
    /// <exception cref="RegionClosedException">The region no longer admits tasks for another reason; the stream was aborted.</exception>
    public TaskHandle<HttpConnectionEnd> SpawnConnection(Cx cx, TcpStream stream, string name = "http-conn")
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        cx.Require(Capabilities.Spawn);
        var handoff = new ConnectionHandoff(this, stream);
        try
        {
            var task = cx.Region.Spawn<HttpConnectionEnd>(name, (Func<Cx, Task<HttpConnectionEnd>>)(c =>
            {
                handoff.Started = true;
                return ServeConnectionAsync(c, stream);
            }), default, cx.Capabilities, authority: cx.Authority, listener: handoff, inline: true);
            return new TaskHandle<HttpConnectionEnd>(task);
        }
        catch (RegionClosedException)
        {
            handoff.Unserved();
            cx.Checkpoint();   // the region drains because this task was cancelled: that is the cancel, raised here
            throw;
        }
    }

    /// <summary>Closes a connection whose task never started (cancelled before its first step), which nothing else would.</summary>
    private sealed class ConnectionHandoff(HttpServer server, TcpStream stream) : ITaskListener<HttpConnectionEnd>
    {
        public bool Started;

        // The connection task runs its body even when the drain's cancel reaches it before its first step: a
        // request that already arrived is then answered, and the stream is closed by its owner, not reset here.
        public void OnSpawned(TaskCore<HttpConnectionEnd> task) => task.RunsBodyIfCancelledBeforeStart = true;

        public void OnCompleted(TaskCore<HttpConnectionEnd> task, Outcome<HttpConnectionEnd> outcome)
        {
            if (!Started) Unserved();
        }

        public void Unserved()
        {
            bool counted;
            lock (server._live) counted = server._live.Remove(stream);
            if (counted) server._slotFreed.NotifyOne();
            stream.Abort("not served: its task was cancelled before it started");
            Interlocked.Increment(ref server._aborted);
        }
    }

    internal void OnResponseWritten(int status)
    {
        int c = status / 100;
        if (c is >= 1 and <= 5) Interlocked.Increment(ref _byClass[c]);
        if (status >= 200) Interlocked.Increment(ref _requests);
    }

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
    /// in phases: <see cref="HttpServerPhase.Draining"/> (the listener closes, idle connections close, in-flight
    /// requests run on and are answered with <c>Connection: close</c>), <see cref="HttpServerPhase.ForceClosing"/>
    /// after <see cref="HttpServerOptions.DrainTimeout"/> (handlers still running are cancelled, and after
    /// <see cref="HttpServerOptions.CancelGrace"/> what is left is aborted), <see cref="HttpServerPhase.Stopped"/>
    /// once every connection ended. Connections live in a region owned by this task, so none outlives the call. At
    /// <see cref="HttpServerOptions.MaxConnections"/> it stops accepting until a connection ends; transient accept
    /// failures (out of descriptors) are retried with backoff and reported (see <see cref="TcpListener.AcceptAsync"/>).
    /// </summary>
    /// <param name="cx">The serving task's context. Needs <see cref="Capabilities.IO"/>, <see cref="Capabilities.Time"/>
    /// (deadlines, the drain timer, the accept backoff) and <see cref="Capabilities.Spawn"/>.</param>
    /// <param name="listener">A bound listener; it is closed on return.</param>
    /// <returns>A task completing when stopped (it ends Cancelled when the stop was a cancel).</returns>
    /// <exception cref="IOException">The listener failed for good (not a transient accept failure): every connection
    /// was drained and the error is rethrown, so the serving task fails.</exception>
    public async Task ServeAsync(Cx cx, TcpListener listener)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(listener);
        cx.Require(Capabilities.IO | Capabilities.Time | Capabilities.Spawn); // accept, deadlines and the drain timer, a task per connection
        TimerEntry? force = null;
        try
        {
            var outcome = await cx.RegionAsync("http-connections", async rcx =>
            {
                try
                {
                    while (true)
                    {
                        while (ActiveConnections >= Options.MaxConnections) await _slotFreed.WaitAsync(rcx);
                        var (stream, _) = await listener.AcceptAsync(rcx);
                        lock (_live) _live[stream] = null; // counted from the accept on, so a burst cannot overshoot the limit
                        SpawnConnection(rcx, stream);
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
            // A listener that failed for good fails the serving task (and a process built on it exits non-zero);
            // a cancel is this task's own and is joined by the kernel.
            if (outcome.Kind is OutcomeKind.Err or OutcomeKind.Panicked) outcome.GetValueOrThrow();
        }
        finally
        {
            force?.Cancel();
            _abortTimer?.Cancel();
            listener.Close();
            Volatile.Write(ref _phase, (int)HttpServerPhase.Stopped);
        }
    }

    private TimerEntry? _abortTimer;

    private void ForceClose()
    {
        if (Interlocked.CompareExchange(ref _phase, (int)HttpServerPhase.ForceClosing, (int)HttpServerPhase.Draining) != (int)HttpServerPhase.Draining) return;
        HttpServerConnection?[] live;
        lock (_live) live = _live.Values.ToArray();
        foreach (var c in live) c?.CancelInFlight("server drain timeout", Options.CancelGrace);
        HttpServerConnection? any = live.FirstOrDefault(c => c is not null);
        if (any is null) return;
        var rt = any.Runtime;
        _abortTimer = rt.AddTimer(rt.Now + Options.CancelGrace, static s => ((HttpServer)s!).AbortAll(), this);
    }

    private void AbortAll()
    {
        TcpStream[] live;
        lock (_live) live = _live.Keys.ToArray();
        foreach (var s in live) s.Abort("drain budget exhausted");
    }
}
