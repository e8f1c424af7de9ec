using System.Globalization;
using System.Text;
using Asupersync.Net;

namespace Asupersync.Http;

/// <summary>The request loop of one server connection. See <see cref="HttpServer"/> for the behaviour.</summary>
internal sealed class HttpServerConnection
{
    private static readonly byte[] s_continue = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    private readonly HttpServer _server;
    private readonly HttpServerOptions _o;
    private readonly TcpStream _s;
    private readonly HttpReader _r;

    internal HttpServerConnection(HttpServer server, TcpStream stream)
    {
        _server = server;
        _o = server.Options;
        _s = stream;
        _r = new HttpReader(stream, Math.Max(_o.MaxRequestLineLength, _o.MaxHeaderBytes) + 4096);
    }

    private static TimeSpan Now(Cx cx) => cx.Task.Runtime.Now;

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
        while (true)
        {
            // Idle: wait for the first byte of the next request.
            if (_r.Buffered == 0)
            {
                try
                {
                    if (!await _r.FillAsync(cx, Now(cx) + _o.IdleTimeout)) return HttpConnectionEnd.Served;
                }
                catch (TimeoutException)
                {
                    return HttpConnectionEnd.Served;
                }
                catch (OperationCanceledException)
                {
                    return HttpConnectionEnd.Drained;
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

            HttpResponse resp;
            bool failed = false;
            try
            {
                var outcome = await cx.RegionAsync("request", rcx => _server.Handler(rcx, req));
                switch (outcome.Kind)
                {
                    case OutcomeKind.Ok:
                        resp = outcome.Value ?? HttpResponse.Error(500, "handler returned no response");
                        failed = outcome.Value is null;
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
                // the mask by the cancel's cleanup budget, so a peer that stops reading cannot hold us forever.
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
            _server.OnResponseWritten();
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
            if (http11 && (chunked || length > 0) && _r.Buffered == 0) await _s.WriteAsync(cx, s_continue);
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
        var sb = new StringBuilder(256);
        sb.Append("HTTP/1.1 ").Append(resp.Status.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(HttpSyntax.ReasonPhrase(resp.Status)).Append("\r\n");
        if (_o.ServerName is { } name) sb.Append("Server: ").Append(name).Append("\r\n");
        if ((cx.Capabilities & Capabilities.Time) != 0) sb.Append("Date: ").Append(_server.DateHeader(cx.UtcNow)).Append("\r\n");
        foreach (var (k, v) in resp.Headers)
        {
            if (k.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || k.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                || k.Equals("Connection", StringComparison.OrdinalIgnoreCase)) continue;
            sb.Append(k).Append(": ").Append(v).Append("\r\n");
        }
        if (stream && !bodyless) sb.Append("Transfer-Encoding: chunked\r\n");
        else if (resp.Status is not (< 200 or 204 or 304)) sb.Append("Content-Length: ").Append(resp.Body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        if (!keepAlive) sb.Append("Connection: close\r\n");
        else if (req.Version == "HTTP/1.0") sb.Append("Connection: keep-alive\r\n");
        sb.Append("\r\n");

        var headText = sb.ToString();
        int headLen = headText.Length; // Latin-1: one byte per char
        int bodyLen = bodyless || stream ? 0 : resp.Body.Length;
        if (bodyLen <= 64 * 1024)
        {
            var buf = new byte[headLen + bodyLen];
            Encoding.Latin1.GetBytes(headText, buf);
            if (bodyLen > 0) resp.Body.Span.CopyTo(buf.AsSpan(headLen));
            await _s.WriteAsync(cx, buf);
        }
        else
        {
            await _s.WriteAsync(cx, Encoding.Latin1.GetBytes(headText));
            await _s.WriteAsync(cx, resp.Body);
        }
        if (stream && !bodyless)
        {
            await resp.StreamBody!(cx, new HttpBodyWriter(_s));
            await _s.WriteAsync(cx, "0\r\n\r\n"u8.ToArray());
        }
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
            var scratch = new byte[4096];
            int n;
            while (total < 256 * 1024 && (n = await _s.ReadAsync(cx, scratch, deadline)) > 0) total += n;
        }
        catch (Exception)
        {
            // timed out, reset, or the cleanup budget ran out: the close below is all that is left
        }
        _s.Close("closed after response");
    }
}
