using System.Net;

namespace Asupersync.Http;

/// <summary>A parsed HTTP/1.1 request with its whole body (bounded by <see cref="HttpServerOptions.MaxBodySize"/>).</summary>
public sealed class HttpRequest
{
    internal HttpRequest(string method, string target, string version, HttpHeaders headers, IPEndPoint? remote)
    {
        Method = method;
        Target = target;
        Version = version;
        Headers = headers;
        RemoteEndPoint = remote;
        var pathAndQuery = target;
        if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || target.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            int slash = target.IndexOf('/', target.IndexOf("//", StringComparison.Ordinal) + 2);
            pathAndQuery = slash < 0 ? "/" : target[slash..];
        }
        int q = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        Path = q < 0 ? pathAndQuery : pathAndQuery[..q];
        Query = q < 0 ? "" : pathAndQuery[(q + 1)..];
    }

    /// <summary>The method, e.g. <c>GET</c> (case-sensitive, as sent).</summary>
    public string Method { get; }

    /// <summary>The request target as sent (origin-form <c>/path?query</c>, absolute-form, or <c>*</c>).</summary>
    public string Target { get; }

    /// <summary>The path part of the target, without the query.</summary>
    public string Path { get; }

    /// <summary>The query string without the <c>?</c> (empty when none).</summary>
    public string Query { get; }

    /// <summary><c>HTTP/1.1</c> or <c>HTTP/1.0</c>.</summary>
    public string Version { get; }

    /// <summary>The header fields.</summary>
    public HttpHeaders Headers { get; }

    /// <summary>The body (empty when none).</summary>
    public ReadOnlyMemory<byte> Body { get; internal set; }

    /// <summary>The client's endpoint.</summary>
    public IPEndPoint? RemoteEndPoint { get; }

    /// <summary>Whether the client asked to keep the connection open after this request.</summary>
    public bool KeepAlive { get; internal set; }

    /// <summary>The body decoded as UTF-8.</summary>
    /// <returns>The text.</returns>
    public string BodyText() => System.Text.Encoding.UTF8.GetString(Body.Span);

    /// <inheritdoc />
    public override string ToString() => $"{Method} {Target} {Version}";
}
