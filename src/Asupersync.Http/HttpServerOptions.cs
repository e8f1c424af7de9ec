using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Asupersync.Net;

namespace Asupersync.Http;

/// <summary>Limits and budgets of an <see cref="HttpServer"/>. Violations get the matching 4xx and a close.</summary>
public sealed record HttpServerOptions
{
    /// <summary>Longest request line (method, target, version) in bytes; longer → 414. Default 8 KiB.</summary>
    public int MaxRequestLineLength { get; init; } = 8 * 1024;

    /// <summary>Largest header section in bytes; larger → 431. Default 32 KiB.</summary>
    public int MaxHeaderBytes { get; init; } = 32 * 1024;

    /// <summary>Most header fields; more → 431. Default 100.</summary>
    public int MaxHeaderCount { get; init; } = 100;

    /// <summary>Largest request body in bytes; larger → 413. Default 1 MiB.</summary>
    public long MaxBodySize { get; init; } = 1024 * 1024;

    /// <summary>Budget for a whole request head, from its first byte to the empty line; exceeded → 408 and close (slowloris). Default 10 s.</summary>
    public TimeSpan HeaderReadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Budget for reading a request body; exceeded → 408 and close. Default 30 s.</summary>
    public TimeSpan BodyReadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a keep-alive connection may sit idle between requests before it is closed. Default 60 s.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// In <see cref="HttpServer.ServeAsync"/>: how long in-flight requests may run on after the server's cancel
    /// (<see cref="HttpServerPhase.Draining"/>) before the ones still running are cancelled
    /// (<see cref="HttpServerPhase.ForceClosing"/>). Always bounded by the cleanup budget of the cancel itself.
    /// Default 5 s.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When a drain ends (<see cref="DrainTimeout"/>, or the cleanup budget of the cancel that asked for it): how much
    /// of the budget is kept for a handler that is still running to unwind under the cancel protocol and for its
    /// connection to answer; what is still open after it is aborted. Default 1 s.
    /// </summary>
    public TimeSpan CancelGrace { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the peer may take to accept each write of a response (the head, every 64 KiB of a body, every
    /// chunk of a streamed body); a peer slower than that — one that stopped reading — has its connection aborted,
    /// so it cannot hold the response's memory. Default 30 s (a floor of about 2 KiB/s).
    /// </summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// In <see cref="HttpServer.ServeAsync"/>: the most connections served at once; at the limit the server stops
    /// accepting (new clients wait in the listen backlog) until one ends. A connection handed to
    /// <see cref="HttpServer.ServeConnectionAsync"/> above the limit is answered 503 and closed. Default
    /// <see cref="DefaultMaxConnections"/>, derived from the process's file-descriptor limit.
    /// </summary>
    public int MaxConnections { get; init; } = DefaultMaxConnections;

    /// <summary>
    /// The default <see cref="MaxConnections"/>: the soft limit on open files (<c>ulimit -n</c>, from
    /// <c>/proc/self/limits</c>) less a reserve of a tenth (at least 64) for the runtime, the listener and the
    /// application's own files; 10,000 where the limit cannot be read.
    /// </summary>
    public static int DefaultMaxConnections { get; } = MaxConnectionsFor(ReadOpenFileLimit());

    internal static int MaxConnectionsFor(long? fdLimit) => fdLimit is not { } n
        ? 10_000
        : (int)Math.Clamp(n - Math.Max(64, n / 10), 16, 1_000_000);

    private static long? ReadOpenFileLimit()
    {
        try
        {
            if (!OperatingSystem.IsLinux() || !File.Exists("/proc/self/limits")) return null;
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
                var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var soft) ? soft : null;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>How long, after an error response, the server keeps reading (and dropping) what the client still sends so the response is not lost to a reset. Default 1 s.</summary>
    public TimeSpan LingerTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The <c>Server</c> header value, or null for none. Default <c>asupersync</c>.</summary>
    public string? ServerName { get; init; } = "asupersync";

    /// <summary>
    /// When set, every connection is HTTPS: the server runs the TLS handshake (<see cref="TlsStream"/>) with these
    /// options before reading a request, under <see cref="TlsHandshakeTimeout"/>. A client that does not speak TLS
    /// gets a clean close; a handshake that stalls is cut at its budget; a shutdown during a handshake drains the
    /// connection. <see cref="WithCertificate"/> builds them from a certificate (ALPN <c>http/1.1</c>). Null (the
    /// default) serves plain HTTP.
    /// </summary>
    /// <remarks>On TLS a read or write that is cancelled or times out aborts the connection (TLS records cannot be
    /// resumed half-way, see <see cref="TlsStream"/>): a request head not received within
    /// <see cref="HeaderReadTimeout"/>, or a drain that finds a request half-read, ends with a reset instead of the
    /// 408 or 503 that plain HTTP sends. Waiting idle between requests is cancel-safe, so an idle TLS connection
    /// drains with a clean close and holds no buffer of the server's.</remarks>
    public SslServerAuthenticationOptions? Tls { get; init; }

    /// <summary>Budget for a TLS handshake (see <see cref="Tls"/>); exceeded → the connection is aborted. Default 10 s.</summary>
    public TimeSpan TlsHandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// These options serving HTTPS with <paramref name="certificate"/> (which must have its private key): a
    /// <see cref="Tls"/> whose certificate context is built once, and ALPN offering <c>http/1.1</c>.
    /// </summary>
    /// <param name="certificate">The server certificate, with its private key.</param>
    /// <returns>A copy of these options with <see cref="Tls"/> set.</returns>
    public HttpServerOptions WithCertificate(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey) throw new ArgumentException("The server certificate needs its private key.", nameof(certificate));
        return this with
        {
            Tls = new SslServerAuthenticationOptions
            {
                ServerCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true),
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                ClientCertificateRequired = false,
            },
        };
    }
}

/// <summary>The shutdown phases of an <see cref="HttpServer"/>.</summary>
public enum HttpServerPhase
{
    /// <summary>Accepting and serving.</summary>
    Running,

    /// <summary>Cancelled: no longer accepting; idle connections close; in-flight requests run on to completion, their responses sent with <c>Connection: close</c>.</summary>
    Draining,

    /// <summary>The drain budget ran out: handlers still running are cancelled (cancel protocol, <see cref="HttpServerOptions.CancelGrace"/>), then what is left is aborted.</summary>
    ForceClosing,

    /// <summary>Every connection has ended and the listener is closed.</summary>
    Stopped,
}

/// <summary>How a connection ended.</summary>
public enum HttpConnectionEnd
{
    /// <summary>It ended normally: the client closed, asked to close, idled out, or was refused with a 4xx and closed.</summary>
    Served,

    /// <summary>It was cancelled (shutdown) and closed cleanly: idle, or its in-flight request answered (possibly 503) before the close.</summary>
    Drained,

    /// <summary>It was aborted: reset by the peer mid-request, a failed write, or force-closed when the drain budget ran out.</summary>
    Aborted,
}
