using System.Globalization;
using System.Text;
using Asupersync.Net;

namespace Asupersync.Http;

/// <summary>A response received by <see cref="HttpClientConnection"/>.</summary>
public sealed class HttpClientResponse
{
    internal HttpClientResponse(int status, string reason, HttpHeaders headers, byte[] body, bool keepAlive)
    {
        Status = status;
        Reason = reason;
        Headers = headers;
        Body = body;
        KeepAlive = keepAlive;
    }

    /// <summary>The status code.</summary>
    public int Status { get; }

    /// <summary>The reason phrase.</summary>
    public string Reason { get; }

    /// <summary>The header fields.</summary>
    public HttpHeaders Headers { get; }

    /// <summary>The body (chunked bodies decoded).</summary>
    public byte[] Body { get; }

    /// <summary>Whether the server keeps the connection open.</summary>
    public bool KeepAlive { get; }

    /// <summary>The body as UTF-8 text.</summary>
    /// <returns>The text.</returns>
    public string BodyText() => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A small HTTP/1.1 client over one keep-alive <see cref="TcpStream"/>: one request at a time, Content-Length,
/// chunked and close-delimited response bodies.
/// </summary>
/// <remarks>
/// <para><b>Fails safe:</b> a server that never answers, or drips its answer, cannot hang the caller: the response
/// head must arrive within <see cref="ResponseHeadersTimeout"/> and the body within <see cref="ResponseBodyTimeout"/>
/// (<see cref="TimeoutException"/>); a connect is bounded by <see cref="DefaultConnectTimeout"/>. A response whose
/// framing is ambiguous (conflicting <c>Content-Length</c> values), endless interim (1xx) responses, or any other
/// malformed response is an <see cref="IOException"/> — and every failure closes the connection, so nothing
/// misread is ever taken for the next response.</para>
/// <para><b>Cancel-safety:</b> an exchange cancelled mid-way leaves the connection in an unknown position of the
/// protocol (a request half sent, a response half read); the connection then refuses further requests —
/// dispose it and connect again.</para>
/// </remarks>
public sealed class HttpClientConnection : IAsyncDisposable, IDisposable
{
    /// <summary>The connect timeout used when <see cref="ConnectAsync"/> is given none: 10 s.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Most interim (1xx) responses accepted before the final one.</summary>
    public const int MaxInterimResponses = 16;

    private readonly TcpStream _stream;
    private readonly HttpReader _reader;
    private readonly string _host;
    private bool _broken;

    private HttpClientConnection(TcpStream stream, string host)
    {
        _stream = stream;
        _host = host;
        _reader = new HttpReader(new HttpStream(stream), 128 * 1024);
    }

    /// <summary>The underlying stream.</summary>
    public TcpStream Stream => _stream;

    /// <summary>
    /// Whether another request may be sent: the last exchange ended cleanly with a keep-alive response, the stream is
    /// open, and nothing unread arrived since (a server's unsolicited close notice or stray bytes would otherwise be
    /// read as the next response).
    /// </summary>
    internal bool IsReusable => !_broken && !_stream.IsClosed && !_stream.HasUnreadData;

    /// <summary>Largest response body accepted (default 16 MiB).</summary>
    public int MaxResponseBody { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// How long, once the request was sent, the whole response head (status line and header fields, interim
    /// responses included) may take to arrive; then <see cref="TimeoutException"/> and the connection is closed.
    /// Default 30 s; <see cref="Timeout.InfiniteTimeSpan"/> for no limit. A finite value reads the runtime clock,
    /// so <see cref="SendAsync"/> then needs <see cref="Capabilities.Time"/>.
    /// </summary>
    public TimeSpan ResponseHeadersTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the response body may take to arrive, from the end of its head; then <see cref="TimeoutException"/>
    /// and the connection is closed. Default 60 s; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.
    /// </summary>
    public TimeSpan ResponseBodyTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Connects to <paramref name="endPoint"/> (<c>"127.0.0.1:8080"</c>). A checkpoint; cancel-safe. Needs
    /// <see cref="Capabilities.IO"/> and, unless the timeout is infinite, <see cref="Capabilities.Time"/>.
    /// </summary>
    /// <param name="cx">The task's context.</param>
    /// <param name="endPoint">Where.</param>
    /// <param name="timeout">Connect timeout; null for <see cref="DefaultConnectTimeout"/>,
    /// <see cref="Timeout.InfiniteTimeSpan"/> for none.</param>
    /// <returns>The connection.</returns>
    /// <exception cref="TimeoutException">The connect timed out.</exception>
    public static async ValueTask<HttpClientConnection> ConnectAsync(Cx cx, string endPoint, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var t = timeout ?? DefaultConnectTimeout;
        var s = await cx.TcpConnectAsync(endPoint, t == Timeout.InfiniteTimeSpan ? null : t);
        return new HttpClientConnection(s, endPoint);
    }

    /// <summary>Wraps an already connected stream.</summary>
    /// <param name="stream">The stream; the connection owns it from now on.</param>
    /// <param name="host">The Host header value.</param>
    /// <returns>The connection.</returns>
    public static HttpClientConnection Over(TcpStream stream, string host)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(host);
        return new HttpClientConnection(stream, host);
    }

    /// <summary>
    /// Sends a request and reads its response. A checkpoint. <c>Host</c> and the body framing are added. Needs
    /// <see cref="Capabilities.IO"/>, and <see cref="Capabilities.Time"/> while a response timeout is finite.
    /// </summary>
    /// <param name="cx">The task's context.</param>
    /// <param name="method">The method.</param>
    /// <param name="target">The target, e.g. <c>/echo</c>.</param>
    /// <param name="body">The body (empty: none).</param>
    /// <param name="headers">Extra header fields.</param>
    /// <param name="chunked">Send the body with chunked transfer coding instead of Content-Length.</param>
    /// <returns>The response.</returns>
    /// <exception cref="IOException">The connection broke or the response was malformed (the connection is closed).</exception>
    /// <exception cref="TimeoutException">The response head or body did not arrive in time (the connection is closed).</exception>
    public async Task<HttpClientResponse> SendAsync(Cx cx, string method, string target, ReadOnlyMemory<byte> body = default, HttpHeaders? headers = null, bool chunked = false)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(target);
        bool timed = ResponseHeadersTimeout != Timeout.InfiniteTimeSpan || ResponseBodyTimeout != Timeout.InfiniteTimeSpan;
        cx.Require(timed ? Capabilities.IO | Capabilities.Time : Capabilities.IO); // socket I/O; the response deadlines read the clock
        if (!HttpSyntax.IsToken(method)) throw new ArgumentException("Invalid method.", nameof(method));
        if (target.Any(c => c is <= ' ' or >= (char)0x7F)) throw new ArgumentException("Invalid target.", nameof(target));
        if (_broken) throw new InvalidOperationException("An earlier exchange on this connection was cancelled or failed; open a new connection.");
        _broken = true;
        var sb = new StringBuilder();
        sb.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\nHost: ").Append(_host).Append("\r\n");
        if (headers is not null)
        {
            foreach (var (k, v) in headers) sb.Append(k).Append(": ").Append(v).Append("\r\n");
        }
        if (chunked) sb.Append("Transfer-Encoding: chunked\r\n");
        else if (!body.IsEmpty || method is "POST" or "PUT") sb.Append("Content-Length: ").Append(body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        sb.Append("\r\n");
        var head = Encoding.Latin1.GetBytes(sb.ToString());
        await _stream.WriteAsync(cx, head);
        if (chunked)
        {
            if (!body.IsEmpty)
            {
                await _stream.WriteAsync(cx, Encoding.ASCII.GetBytes(body.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n"));
                await _stream.WriteAsync(cx, body);
                await _stream.WriteAsync(cx, "\r\n"u8.ToArray());
            }
            await _stream.WriteAsync(cx, "0\r\n\r\n"u8.ToArray());
        }
        else if (!body.IsEmpty)
        {
            await _stream.WriteAsync(cx, body);
        }
        HttpClientResponse resp;
        try
        {
            resp = await ReadResponseAsync(cx, method == "HEAD");
        }
        catch (Exception e) when (e is IOException or TimeoutException)
        {
            _stream.Abort("response failed: " + e.Message); // never read the next response out of a misframed stream
            throw;
        }
        _broken = !resp.KeepAlive;
        return resp;
    }

    private static TimeSpan? DeadlineAfter(Cx cx, TimeSpan timeout) => timeout == Timeout.InfiniteTimeSpan ? null : cx.Task.Runtime.Now + timeout;

    private async Task<HttpClientResponse> ReadResponseAsync(Cx cx, bool head)
    {
        try
        {
            var headDeadline = DeadlineAfter(cx, ResponseHeadersTimeout);
            int interim = 0;
            while (true)
            {
                var (line, _) = await _reader.ReadLineAsync(cx, 8192, 400, headDeadline);
                var parts = line.Split(' ', 3);
                if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || parts[1].Length != 3
                    || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int status))
                    throw new IOException("Malformed status line: " + line);
                var headers = new HttpHeaders();
                await HttpFraming.ReadFieldsAsync(cx, _reader, headers, 256, 64 * 1024, headDeadline);
                if (status is >= 100 and < 200)
                {
                    if (++interim > MaxInterimResponses) throw new IOException($"More than {MaxInterimResponses} interim (1xx) responses.");
                    continue; // 100 Continue and friends
                }
                bool keepAlive = parts[0] == "HTTP/1.1" ? !headers.HasToken("Connection", "close") : headers.HasToken("Connection", "keep-alive");
                var bodyDeadline = DeadlineAfter(cx, ResponseBodyTimeout);
                byte[] body;
                if (head || status is 204 or 304)
                {
                    body = [];
                }
                else if (headers["Transfer-Encoding"] is not null)
                {
                    if (!headers.HasToken("Transfer-Encoding", "chunked")) throw new IOException("Unsupported response transfer coding: " + headers["Transfer-Encoding"]);
                    body = await HttpFraming.ReadChunkedAsync(cx, _reader, MaxResponseBody, 256, 64 * 1024, bodyDeadline);
                    if (headers["Content-Length"] is not null) keepAlive = false; // both framings: chunked wins, the connection is not reused (RFC 9112 §6.3)
                }
                else if (headers.CountOf("Content-Length") > 0)
                {
                    long n = ContentLengthOf(headers);
                    if (n > MaxResponseBody) throw new IOException($"Response body of {n} bytes exceeds MaxResponseBody.");
                    body = new byte[n];
                    await _reader.ReadExactAsync(cx, body, bodyDeadline);
                }
                else
                {
                    body = await _reader.ReadToEndAsync(cx, MaxResponseBody, bodyDeadline);
                    keepAlive = false;
                }
                return new HttpClientResponse(status, parts.Length > 2 ? parts[2] : "", headers, body, keepAlive);
            }
        }
        catch (HttpProtocolException e)
        {
            throw new IOException("Malformed response: " + e.Message, e);
        }
        catch (EndOfStreamException e)
        {
            throw new IOException("The server closed the connection before a complete response.", e);
        }
    }

    /// <summary>
    /// The one length of every <c>Content-Length</c> field (and list member): RFC 9112 §6.3 — differing or invalid
    /// values make the framing unknowable, an unrecoverable error.
    /// </summary>
    private static long ContentLengthOf(HttpHeaders headers)
    {
        long? length = null;
        foreach (var field in headers.GetValues("Content-Length"))
        {
            foreach (var part in field.Split(','))
            {
                var v = part.Trim(' ', '\t');
                if (v.Length == 0 || v.Length > 18 || !v.All(char.IsAsciiDigit)) throw new IOException("Invalid Content-Length: " + field);
                long n = long.Parse(v, NumberStyles.None, CultureInfo.InvariantCulture);
                if (length is { } prev && prev != n) throw new IOException("Conflicting Content-Length values: " + string.Join(", ", headers.GetValues("Content-Length")));
                length = n;
            }
        }
        return length!.Value;
    }

    /// <summary>Closes the connection (graceful). Idempotent.</summary>
    public void Dispose() => _stream.Close("client disposed");

    /// <summary>Closes the connection (graceful). Idempotent; never waits.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
