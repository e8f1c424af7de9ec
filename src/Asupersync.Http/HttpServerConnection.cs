using System.Globalization;
using System.Text;
using Asupersync.Kernel;
using Asupersync.Net;

namespace Asupersync.Http;

/// <summary>The request loop of one server connection. See <see cref="HttpServer"/> for the behaviour.</summary>
internal sealed class HttpServerConnection
{
    private static readonly byte[] s_continue = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();
    private static readonly byte[] s_lastChunk = "0\r\n\r\n"u8.ToArray();

    /// <summary>Where a lingering close drops what the client still sends: shared, as nothing reads it.</summary>
    private static readonly byte[] s_discard = new byte[4096];

    private readonly HttpServer _server;
    private readonly HttpServerOptions _o;
    private readonly HttpStream _s;
    private readonly HttpReader _r;
    private RegionCore? _inflight; // the running handler's region, for ForceClose
    private bool _forced;

    internal HttpServerConnection(HttpServer server, HttpStream stream)
    {
        _server = server;
        _o = server.Options;
        _s = stream;
        _r = new HttpReader(stream, Math.Max(_o.MaxRequestLineLength, _o.MaxHeaderBytes) + 4096) { BeforeWait = FlushPendingAsync };
        _serverLine = _o.ServerName is { } name ? Encoding.Latin1.GetBytes("Server: " + name + "\r\n") : null;
    }

    /// <summary>Bytes of buffers this connection holds right now (reader, pending responses and socket; a diagnostic).</summary>
    internal int HeldBufferBytes => _r.HeldBytes + (Volatile.Read(ref _out)?.Length ?? 0) + _s.HeldBufferBytes;

    /// <summary>The connection ended: its buffers go back to the pool.</summary>
    internal void ReleaseBuffers()
    {
        _r.Release(force: true);
        ReturnOut();
    }

    private static TimeSpan Now(Cx cx) => cx.Task.Runtime.Now;

    /// <summary>The runtime serving this connection (set when it starts).</summary>
    internal RuntimeCore Runtime { get; private set; } = null!;

    /// <summary>
    /// ForceClosing: cancels the handler still running (cancel protocol, <paramref name="grace"/> to unwind); a
    /// connection between requests is cancelled through its task by the drain already.
    /// </summary>
    internal void CancelInFlight(string message, TimeSpan grace)
    {
        Volatile.Write(ref _forced, true);
        Volatile.Read(ref _inflight)?.RequestCancel(new CancelReason(CancelKind.Deadline, message, Runtime.Now), Budget.Timeout(grace));
    }

    /// <summary>Answers <paramref name="status"/> to a connection the server will not serve, and closes it.</summary>
    internal Task<HttpConnectionEnd> RefuseAsync(Cx cx, int status, string message)
    {
        Runtime = cx.Task.Runtime;
        return RejectAsync(cx, status, message, HttpConnectionEnd.Served);
    }

    /// <summary>
    /// Takes the one-time cancel raise if it is pending, so that the awaits of the drain that follow (a 503, a
    /// lingering close) run. Only an unacknowledged request is consumed: the later "cleanup budget exhausted"
    /// raise is left to propagate.
    /// </summary>
    private static void Acknowledge(Cx cx)
    {
        if (cx.State != TaskState.CancelRequested) return;
        try { cx.Checkpoint(); }
        catch (OperationCanceledException) { /* acknowledged: draining from here on */ }
    }

    internal async Task<HttpConnectionEnd> RunAsync(Cx cx)
    {
        Runtime = cx.Task.Runtime;
        while (true)
        {
            // Idle: wait for the first byte of the next request.
            if (_r.Buffered == 0)
            {
                try
                {
                    // Holding no buffer while idle: a readiness wait, then a read into a freshly rented buffer.
                    if (!await _r.FillIdleAsync(cx, Now(cx) + _o.IdleTimeout)) return HttpConnectionEnd.Served;
                }
                catch (TimeoutException)
                {
                    return HttpConnectionEnd.Served;
                }
                catch (OperationCanceledException)
                {
                    // The drain found the connection between requests. One whose next request has already arrived
                    // is not idle: its client sent it before the server stopped reading, so it is served like one
                    // in flight (with Connection: close) instead of being closed unanswered.
                    if (!_r.HasUnreadData) return HttpConnectionEnd.Drained;
                    Acknowledge(cx);
                }
                catch (IOException)
                {
                    return HttpConnectionEnd.Served; // reset between requests: nothing was lost
                }
            }

            HttpRequest req;
            try
            {
                req = await ReadRequestAsync(cx);
            }
            catch (HttpProtocolException e)
            {
                return await RejectAsync(cx, e.Status, e.Message, HttpConnectionEnd.Served);
            }
            catch (TimeoutException)
            {
                return await RejectAsync(cx, 408, "request not received within its budget", HttpConnectionEnd.Served);
            }
            catch (OperationCanceledException)
            {
                return await RejectAsync(cx, 503, "server shutting down", HttpConnectionEnd.Drained);
            }
            catch (Exception e) when (e is EndOfStreamException or IOException)
            {
                return HttpConnectionEnd.Aborted;
            }
            catch (Exception)
            {
                return await RejectAsync(cx, 400, "unparseable request", HttpConnectionEnd.Served);
            }

            // A request read in full is in flight: it runs even if the drain began meanwhile (the cancel is taken
            // here, so the region below still opens; it then gets the drain's deadline as its own).
            Acknowledge(cx);
            HttpResponse? produced = null;
            HttpResponse resp;
            bool failed = false;
            try
            {
                var outcome = await cx.RegionAsync("request", async rcx =>
                {
                    Volatile.Write(ref _inflight, rcx.Task.Region);
                    if (Volatile.Read(ref _forced)) rcx.Task.Region.RequestCancel(new CancelReason(CancelKind.Deadline, "server drain timeout", Now(rcx)), Budget.Timeout(_o.CancelGrace));
                    var r = await _server.Handler(rcx, req);
                    produced = r;
                    return r;
                }, _server.RequestRegion);
                Volatile.Write(ref _inflight, null);
                if (produced is not null)
                {
                    // The handler's committed effect: sent as it is, whatever cancel reached the region meanwhile.
                    resp = produced;
                }
                else
                {
                    switch (outcome.Kind)
                    {
                        case OutcomeKind.Ok:
                            resp = HttpResponse.Error(500, "handler returned no response");
                            failed = true;
                            break;
                        case OutcomeKind.Cancelled:
                            resp = HttpResponse.Error(503, "request cancelled");
                            failed = true;
                            break;
                        default:
                            resp = HttpResponse.Error(500, "handler failed");
                            failed = true;
                            break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                resp = HttpResponse.Error(503, "server shutting down");
                failed = true;
            }

            Acknowledge(cx);
            bool cancelled = cx.IsCancelRequested;
            bool keepAlive = req.KeepAlive && !failed && !cancelled && _server.IsRunning;
            try
            {
                // Masked: a cancel that lands while the response goes out must not tear it. The kernel bounds
                // the mask by the cancel's cleanup budget, and every write by WriteTimeout, so a peer that stops
                // reading cannot hold us (or the response's memory) for long.
                using (cx.Mask())
                {
                    await WriteResponseAsync(cx, req, resp, keepAlive);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or TimeoutException)
            {
                return HttpConnectionEnd.Aborted;
            }
            catch (Exception)
            {
                return HttpConnectionEnd.Aborted; // a streamed body threw after the head went out: nothing to signal but a reset
            }
            _server.OnResponseWritten(resp.Status);
            if (!keepAlive)
            {
                await LingerCloseAsync(cx);
                return cancelled ? HttpConnectionEnd.Drained : HttpConnectionEnd.Served;
            }
        }
    }

    // ---------------------------------------------------------------- request

    private async ValueTask<HttpRequest> ReadRequestAsync(Cx cx)
    {
        var headDeadline = Now(cx) + _o.HeaderReadTimeout;
        // A first byte that cannot begin a request line (a TLS ClientHello, binary noise) is refused at once,
        // instead of waiting for a line ending that may never come.
        if (_r.Buffered > 0 && !HttpSyntax.CanStartRequest(_r.Span[0])) throw new HttpProtocolException(400, "not an HTTP/1.1 request");
        string line;
        int skipped = 0;
        while (true)
        {
            (line, _) = await _r.ReadLineAsync(cx, _o.MaxRequestLineLength, 414, headDeadline);
            if (line.Length > 0) break;
            if (++skipped > 2) throw new HttpProtocolException(400, "empty lines instead of a request line");
        }

        int sp1 = line.IndexOf(' ', StringComparison.Ordinal);
        int sp2 = sp1 < 0 ? -1 : line.IndexOf(' ', sp1 + 1);
        if (sp1 <= 0 || sp2 < 0 || line.IndexOf(' ', sp2 + 1) >= 0) throw new HttpProtocolException(400, "malformed request line");
        var method = line[..sp1];
        var target = line[(sp1 + 1)..sp2];
        var version = line[(sp2 + 1)..];
        if (!HttpSyntax.IsToken(method)) throw new HttpProtocolException(400, "invalid method");
        if (target.Length == 0) throw new HttpProtocolException(400, "empty target");
        foreach (var c in target) if (c is <= ' ' or >= (char)0x7F) throw new HttpProtocolException(400, "invalid character in target");
        bool originForm = target[0] == '/';
        bool absolute = target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || target.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        bool asterisk = target == "*" && method == "OPTIONS";
        if (!originForm && !absolute && !asterisk) throw new HttpProtocolException(400, "invalid request target");
        if (version != "HTTP/1.1" && version != "HTTP/1.0")
        {
            if (version.Length == 8 && version.StartsWith("HTTP/", StringComparison.Ordinal) && char.IsAsciiDigit(version[5]) && version[6] == '.' && char.IsAsciiDigit(version[7]))
                throw new HttpProtocolException(505, "unsupported HTTP version");
            throw new HttpProtocolException(400, "invalid HTTP version");
        }
        bool http11 = version == "HTTP/1.1";

        var headers = new HttpHeaders();
        await HttpFraming.ReadFieldsAsync(cx, _r, headers, _o.MaxHeaderCount, _o.MaxHeaderBytes, headDeadline);

        int hosts = headers.CountOf("Host");
        if (http11 ? hosts != 1 : hosts > 1) throw new HttpProtocolException(400, "exactly one Host header is required");
        if (hosts == 1 && !HttpSyntax.IsValidHost(headers["Host"]!)) throw new HttpProtocolException(400, "invalid Host header");

        // Framing: the smuggling defences live here.
        int teCount = headers.CountOf("Transfer-Encoding");
        int clCount = headers.CountOf("Content-Length");
        bool chunked = false;
        long length = 0;
        if (teCount > 0)
        {
            if (!http11) throw new HttpProtocolException(400, "Transfer-Encoding in HTTP/1.0");
            if (clCount > 0) throw new HttpProtocolException(400, "both Content-Length and Transfer-Encoding");
            if (teCount > 1) throw new HttpProtocolException(400, "several Transfer-Encoding fields");
            var te = headers["Transfer-Encoding"]!.Trim();
            if (string.Equals(te, "chunked", StringComparison.OrdinalIgnoreCase)) chunked = true;
            else if (te.Contains("chunked", StringComparison.OrdinalIgnoreCase) || te.Contains(',', StringComparison.Ordinal)) throw new HttpProtocolException(400, "unsupported transfer coding list");
            else throw new HttpProtocolException(501, "unsupported transfer coding");
        }
        else if (clCount > 0)
        {
            if (clCount > 1) throw new HttpProtocolException(400, "several Content-Length fields");
            var cl = headers["Content-Length"]!;
            if (cl.Length == 0 || cl.Length > 18) throw new HttpProtocolException(400, "invalid Content-Length");
            foreach (var c in cl) if (!char.IsAsciiDigit(c)) throw new HttpProtocolException(400, "invalid Content-Length");
            length = long.Parse(cl, NumberStyles.None, CultureInfo.InvariantCulture);
            if (length > _o.MaxBodySize) throw new HttpProtocolException(413, "body too large");
        }

        var expect = headers["Expect"];
        if (expect is not null)
        {
            if (!string.Equals(expect.Trim(), "100-continue", StringComparison.OrdinalIgnoreCase) || headers.CountOf("Expect") > 1)
                throw new HttpProtocolException(417, "unsupported expectation");
            // Only ask for the body when there is one and the client has not started sending it already.
            if (http11 && (chunked || length > 0) && _r.Buffered == 0)
            {
                await WriteAsync(cx, s_continue);
                _server.OnResponseWritten(100);
            }
        }

        var req = new HttpRequest(method, target, version, headers, _s.RemoteEndPoint)
        {
            KeepAlive = http11 ? !headers.HasToken("Connection", "close") : headers.HasToken("Connection", "keep-alive"),
        };
        var bodyDeadline = Now(cx) + _o.BodyReadTimeout;
        if (chunked)
        {
            req.Body = await HttpFraming.ReadChunkedAsync(cx, _r, _o.MaxBodySize, _o.MaxHeaderCount, _o.MaxHeaderBytes, bodyDeadline);
        }
        else if (length > 0)
        {
            var body = new byte[length];
            await _r.ReadExactAsync(cx, body, bodyDeadline);
            req.Body = body;
        }
        return req;
    }

    // ---------------------------------------------------------------- response

    private async ValueTask WriteResponseAsync(Cx cx, HttpRequest req, HttpResponse resp, bool keepAlive)
    {
        bool bodyless = req.Method == "HEAD" || resp.Status is < 200 or 204 or 304;
        bool stream = resp.StreamBody is not null;
        // The head is written as bytes straight into the connection's pooled output buffer: static spans and cached
        // lines (status, Server, Date), no string built per response.
        Append(StatusLine(resp.Status));
        if (_serverLine is not null) Append(_serverLine);
        if ((cx.Capabilities & Capabilities.Time) != 0) Append(DateLine(cx));
        foreach (var (k, v) in resp.Headers)
        {
            if (k.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || k.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                || k.Equals("Connection", StringComparison.OrdinalIgnoreCase)) continue;
            AppendLatin1(k);
            Append(": "u8);
            AppendLatin1(v);
            Append("\r\n"u8);
        }
        if (stream && !bodyless) Append("Transfer-Encoding: chunked\r\n"u8);
        else if (resp.Status is not (< 200 or 204 or 304))
        {
            Append("Content-Length: "u8);
            AppendInt(resp.Body.Length);
            Append("\r\n"u8);
        }
        if (!keepAlive) Append("Connection: close\r\n"u8);
        else if (req.Version == "HTTP/1.0") Append("Connection: keep-alive\r\n"u8);
        Append("\r\n"u8);

        int bodyLen = bodyless || stream ? 0 : resp.Body.Length;
        if (bodyLen <= WriteSlice)
        {
            if (bodyLen > 0) Append(resp.Body.Span);
            // Pipelining: while more of the client's bytes are already buffered, the response waits in the buffer and
            // goes out with the next ones in one send; nothing waits on the network with a response held back (the
            // reader flushes before any wait: BeforeWait). The cost: a held-back response also waits for the next
            // pipelined request's handler (bounded by BatchLimit bytes, and only when the client pipelined).
            if (keepAlive && !stream && _r.Buffered > 0 && _outLen < BatchLimit) return;
            await FlushAsync(cx);
        }
        else
        {
            await FlushAsync(cx);
            for (var rest = resp.Body; !rest.IsEmpty; rest = rest[Math.Min(WriteSlice, rest.Length)..])
                await WriteAsync(cx, rest[..Math.Min(WriteSlice, rest.Length)]);
        }
        if (stream && !bodyless)
        {
            await resp.StreamBody!(cx, new HttpBodyWriter(_s, _o.WriteTimeout));
            await WriteAsync(cx, s_lastChunk);
        }
    }

    /// <summary>Largest single write: each must be taken by the peer within <see cref="HttpServerOptions.WriteTimeout"/>.</summary>
    private const int WriteSlice = 64 * 1024;

    /// <summary>Most bytes of pipelined responses held back to go out together.</summary>
    private const int BatchLimit = 32 * 1024;

    private static readonly byte[]?[] s_statusLines = new byte[1000][];

    private static byte[] StatusLine(int status) => s_statusLines[status] ??=
        Encoding.Latin1.GetBytes("HTTP/1.1 " + status.ToString(CultureInfo.InvariantCulture) + " " + HttpSyntax.ReasonPhrase(status) + "\r\n");

    private readonly byte[]? _serverLine;
    private string? _dateText;
    private byte[] _dateLine = [];

    private byte[] DateLine(Cx cx)
    {
        var text = _server.DateHeader(cx.UtcNow); // the same string all second
        if (!ReferenceEquals(text, _dateText))
        {
            _dateLine = Encoding.Latin1.GetBytes("Date: " + text + "\r\n");
            _dateText = text;
        }
        return _dateLine;
    }

    // ---------------------------------------------------------------- output buffer

    private byte[]? _out; // rented while responses are being written, returned once they went out
    private int _outLen;

    private Span<byte> Reserve(int n)
    {
        if (_out is null) Volatile.Write(ref _out, System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(n, 4096)));
        else if (_out.Length - _outLen < n)
        {
            var bigger = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(_outLen + n, _out.Length * 2));
            _out.AsSpan(0, _outLen).CopyTo(bigger);
            System.Buffers.ArrayPool<byte>.Shared.Return(_out);
            Volatile.Write(ref _out, bigger);
        }
        return _out!.AsSpan(_outLen, n);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        _outLen += bytes.Length;
    }

    private void AppendLatin1(string text)
    {
        _outLen += Encoding.Latin1.GetBytes(text, Reserve(text.Length)); // one byte per char
    }

    private void AppendInt(long value)
    {
        value.TryFormat(Reserve(20), out int n, default, CultureInfo.InvariantCulture);
        _outLen += n;
    }

    private void ReturnOut()
    {
        var b = _out;
        if (b is null) return;
        Volatile.Write(ref _out, null);
        _outLen = 0;
        System.Buffers.ArrayPool<byte>.Shared.Return(b);
    }

    /// <summary>Sends what the output buffer holds (masked: a cancel does not tear it), then gives the buffer back.</summary>
    private async ValueTask FlushAsync(Cx cx)
    {
        if (_outLen == 0)
        {
            ReturnOut();
            return;
        }
        bool sent = false;
        try
        {
            using (cx.Mask())
            {
                await _s.WriteAsync(cx, _out.AsMemory(0, _outLen), Budget.Timeout(_o.WriteTimeout));
            }
            sent = true;
        }
        finally
        {
            if (sent) ReturnOut();
            else
            {
                // Failed: the connection is done with; the buffer is dropped rather than pooled, in case a write is still reading it.
                Volatile.Write(ref _out, null);
                _outLen = 0;
            }
        }
    }

    /// <summary>The reader's hook before it waits on the network: pipelined responses held back go out first.</summary>
    private ValueTask FlushPendingAsync(Cx cx) => _outLen == 0 ? ValueTask.CompletedTask : FlushAsync(cx);

    private ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data) =>
        _outLen == 0 ? _s.WriteAsync(cx, data, Budget.Timeout(_o.WriteTimeout)) : FlushThenWriteAsync(cx, data);

    private async ValueTask FlushThenWriteAsync(Cx cx, ReadOnlyMemory<byte> data)
    {
        await FlushAsync(cx);
        await _s.WriteAsync(cx, data, Budget.Timeout(_o.WriteTimeout));
    }

    /// <summary>Answers <paramref name="status"/> with <c>Connection: close</c>, then closes without losing the answer.</summary>
    private async Task<HttpConnectionEnd> RejectAsync(Cx cx, int status, string message, HttpConnectionEnd end)
    {
        Acknowledge(cx);
        try
        {
            var resp = HttpResponse.Error(status, message);
            var fake = new HttpRequest("GET", "/", "HTTP/1.1", new HttpHeaders(), null);
            await WriteResponseAsync(cx, fake, resp, keepAlive: false);
        }
        catch (Exception)
        {
            return HttpConnectionEnd.Aborted;
        }
        _server.OnResponseWritten(status);
        await LingerCloseAsync(cx);
        return end;
    }

    /// <summary>
    /// Half-closes, then reads and drops what the client still sends (bounded in time and bytes) before the
    /// close: closing with unread data would reset the connection and could destroy the response in flight.
    /// </summary>
    private async ValueTask LingerCloseAsync(Cx cx)
    {
        try
        {
            await _s.ShutdownAsync(cx);
            var deadline = Budget.AtDeadline(Now(cx) + _o.LingerTimeout);
            int total = _r.Buffered;
            _r.Consume(_r.Buffered);
            _r.Release(force: true);
            int n;
            while (total < 256 * 1024 && (n = await _s.ReadAsync(cx, s_discard, deadline)) > 0) total += n;
        }
        catch (Exception)
        {
            // timed out, reset, or the cleanup budget ran out: the close below is all that is left
        }
        _s.Close("closed after response");
    }
}
