using System.Text;

namespace Asupersync.Http;

/// <summary>
/// A response to send: status, headers and either a body of known length or a streamed, chunked body
/// (<see cref="Chunked"/>). The server adds <c>Content-Length</c> / <c>Transfer-Encoding</c> and
/// <c>Connection</c> itself.
/// </summary>
public sealed class HttpResponse
{
    /// <summary>Creates a response.</summary>
    /// <param name="status">The status code (100–999).</param>
    /// <param name="body">The body.</param>
    /// <param name="contentType">The Content-Type, or null for none.</param>
    public HttpResponse(int status, ReadOnlyMemory<byte> body = default, string? contentType = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(status, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(status, 999);
        Status = status;
        Body = body;
        if (contentType is not null) Headers.Add("Content-Type", contentType);
    }

    /// <summary>The status code.</summary>
    public int Status { get; }

    /// <summary>Extra header fields.</summary>
    public HttpHeaders Headers { get; } = new();

    /// <summary>The body of known length (ignored when <see cref="StreamBody"/> is set).</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>When set, the body is streamed with chunked transfer coding by this callback.</summary>
    public Func<Cx, HttpBodyWriter, Task>? StreamBody { get; init; }

    /// <summary>A <c>text/plain; charset=utf-8</c> response.</summary>
    /// <param name="text">The text.</param>
    /// <param name="status">The status (default 200).</param>
    /// <returns>The response.</returns>
    public static HttpResponse Text(string text, int status = 200) =>
        new(status, Encoding.UTF8.GetBytes(text ?? throw new ArgumentNullException(nameof(text))), "text/plain; charset=utf-8");

    /// <summary>A response with a byte body.</summary>
    /// <param name="body">The bytes.</param>
    /// <param name="contentType">Content-Type (default <c>application/octet-stream</c>).</param>
    /// <param name="status">The status (default 200).</param>
    /// <returns>The response.</returns>
    public static HttpResponse Bytes(ReadOnlyMemory<byte> body, string contentType = "application/octet-stream", int status = 200) => new(status, body, contentType);

    /// <summary>A streamed response: its body is written chunk by chunk with chunked transfer coding.</summary>
    /// <param name="write">Writes the body; it runs on the connection's task after the head went out.</param>
    /// <param name="contentType">Content-Type.</param>
    /// <param name="status">The status (default 200).</param>
    /// <returns>The response.</returns>
    public static HttpResponse Chunked(Func<Cx, HttpBodyWriter, Task> write, string contentType = "application/octet-stream", int status = 200)
    {
        ArgumentNullException.ThrowIfNull(write);
        return new HttpResponse(status, default, contentType) { StreamBody = write };
    }

    internal static HttpResponse Error(int status, string message)
    {
        var r = Text(HttpSyntax.ReasonPhrase(status) + ": " + message + "\n", status);
        return r;
    }
}

/// <summary>Writes a chunked response body. Each write is one chunk.</summary>
public sealed class HttpBodyWriter
{
    private readonly HttpStream _stream;
    private readonly TimeSpan _writeTimeout;

    internal HttpBodyWriter(HttpStream stream, TimeSpan writeTimeout)
    {
        _stream = stream;
        _writeTimeout = writeTimeout;
    }

    internal long BytesWritten { get; private set; }

    /// <summary>
    /// Writes one chunk. A checkpoint; a cancelled write may have sent part of the chunk (the connection is then
    /// closed). The peer must take it within <see cref="HttpServerOptions.WriteTimeout"/>, or the write ends with
    /// <see cref="TimeoutException"/> and the connection is aborted.
    /// </summary>
    /// <param name="cx">The connection task's context.</param>
    /// <param name="data">The bytes; empty writes nothing.</param>
    /// <returns>A task completing when the chunk was handed to the network.</returns>
    public async ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(cx);
        if (data.IsEmpty) return;
        var head = Encoding.ASCII.GetBytes(data.Length.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + "\r\n");
        var buf = new byte[head.Length + data.Length + 2];
        head.CopyTo(buf, 0);
        data.Span.CopyTo(buf.AsSpan(head.Length));
        buf[^2] = (byte)'\r';
        buf[^1] = (byte)'\n';
        await _stream.WriteAsync(cx, buf, Budget.Timeout(_writeTimeout));
        BytesWritten += data.Length;
    }

    /// <summary>Writes a UTF-8 text chunk.</summary>
    /// <param name="cx">The connection task's context.</param>
    /// <param name="text">The text.</param>
    /// <returns>A task completing when the chunk was handed to the network.</returns>
    public ValueTask WriteAsync(Cx cx, string text) => WriteAsync(cx, Encoding.UTF8.GetBytes(text ?? ""));
}
