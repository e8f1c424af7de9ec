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
/// <b>Cancel-safety:</b> an exchange cancelled mid-way leaves the connection in an unknown position of the
/// protocol (a request half sent, a response half read); the connection then refuses further requests —
/// dispose it and connect again.
/// </remarks>
public sealed class HttpClientConnection : IAsyncDisposable, IDisposable
{
    private readonly TcpStream _stream;
    private readonly HttpReader _reader;
    private readonly string _host;
    private bool _broken;

    private HttpClientConnection(TcpStream stream, string host)
    {
        _stream = stream;
        _host = host;
        _reader = new HttpReader(stream, 128 * 1024);
    }

    /// <summary>The underlying stream.</summary>
    public TcpStream Stream => _stream;

    /// <summary>Largest response body accepted (default 16 MiB).</summary>
    public int MaxResponseBody { get; init; } = 16 * 1024 * 1024;

    /// <summary>Connects to <paramref name="endPoint"/> (<c>"127.0.0.1:8080"</c>). A checkpoint; cancel-safe.</summary>
    /// <param name="cx">The task's context.</param>
    /// <param name="endPoint">Where.</param>
    /// <param name="timeout">Connect timeout; null for none.</param>
    /// <returns>The connection.</returns>
    public static async ValueTask<HttpClientConnection> ConnectAsync(Cx cx, string endPoint, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var s = await cx.TcpConnectAsync(endPoint, timeout);
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
    /// Sends a request and reads its response. A checkpoint. <c>Host</c> and the body framing are added.
    /// </summary>
    /// <param name="cx">The task's context.</param>
    /// <param name="method">The method.</param>
    /// <param name="target">The target, e.g. <c>/echo</c>.</param>
    /// <param name="body">The body (empty: none).</param>
    /// <param name="headers">Extra header fields.</param>
    /// <param name="chunked">Send the body with chunked transfer coding instead of Content-Length.</param>
    /// <returns>The response.</returns>
    /// <exception cref="IOException">The connection broke or the response was malformed.</exception>
    public async Task<HttpClientResponse> SendAsync(Cx cx, string method, string target, ReadOnlyMemory<byte> body = default, HttpHeaders? headers = null, bool chunked = false)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(target);
        cx.Require(Capabilities.IO);
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
        var resp = await ReadResponseAsync(cx, method == "HEAD");
        _broken = !resp.KeepAlive;
        return resp;
    }

    private async Task<HttpClientResponse> ReadResponseAsync(Cx cx, bool head)
    {
        try
        {
            while (true)
            {
                var (line, _) = await _reader.ReadLineAsync(cx, 8192, 400, null);
                var parts = line.Split(' ', 3);
                if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || parts[1].Length != 3
                    || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int status))
                    throw new IOException("Malformed status line: " + line);
                var headers = new HttpHeaders();
                await HttpFraming.ReadFieldsAsync(cx, _reader, headers, 256, 64 * 1024, null);
                if (status is >= 100 and < 200) continue; // 100 Continue and friends
                bool keepAlive = parts[0] == "HTTP/1.1" ? !headers.HasToken("Connection", "close") : headers.HasToken("Connection", "keep-alive");
                byte[] body;
                if (head || status is 204 or 304)
                {
                    body = [];
                }
                else if (headers.HasToken("Transfer-Encoding", "chunked"))
                {
                    body = await HttpFraming.ReadChunkedAsync(cx, _reader, MaxResponseBody, 256, 64 * 1024, null);
                }
                else if (headers["Content-Length"] is { } cl)
                {
                    if (!long.TryParse(cl, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > MaxResponseBody) throw new IOException("Bad Content-Length: " + cl);
                    body = new byte[n];
                    await _reader.ReadExactAsync(cx, body, null);
                }
                else
                {
                    body = await _reader.ReadToEndAsync(cx, MaxResponseBody, null);
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
