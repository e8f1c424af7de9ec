namespace Asupersync.Hosting;

/// <summary>Settings of the hosted Asupersync runtime.</summary>
public sealed class AsupersyncHostOptions
{
    /// <summary>The runtime's settings (worker count, leak response, clock…).</summary>
    public RuntimeOptions Runtime { get; set; } = new();

    /// <summary>The root region's name, used in diagnostics and the root <c>Activity</c>. Default <c>"host"</c>.</summary>
    public string RootName { get; set; } = "host";

    /// <summary>
    /// Whether the application stops when the root body ends by itself (default true): a root that returns or
    /// fails while the host is running leaves nothing to serve.
    /// </summary>
    public bool StopApplicationWhenRootEnds { get; set; } = true;
}
