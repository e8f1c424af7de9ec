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
    /// In <see cref="HttpServer.ServeAsync"/>: how long connections may drain after the server's cancel before they
    /// are aborted (<see cref="HttpServerPhase.ForceClosing"/>). Default 5 s.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long, after an error response, the server keeps reading (and dropping) what the client still sends so the response is not lost to a reset. Default 1 s.</summary>
    public TimeSpan LingerTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The <c>Server</c> header value, or null for none. Default <c>asupersync</c>.</summary>
    public string? ServerName { get; init; } = "asupersync";
}

/// <summary>The shutdown phases of an <see cref="HttpServer"/>.</summary>
public enum HttpServerPhase
{
    /// <summary>Accepting and serving.</summary>
    Running,

    /// <summary>Cancelled: no longer accepting; idle connections close, in-flight requests are told to finish (cancel protocol) and answered or closed cleanly.</summary>
    Draining,

    /// <summary>The drain budget ran out: remaining connections are aborted.</summary>
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
