namespace Asupersync;

/// <summary>Options for <see cref="Cx.RegionAsync{T}(string, Func{Cx, Task{T}}, RegionOptions?)"/>.</summary>
public sealed record RegionOptions
{
    /// <summary>The default options: fail-fast, no budget, no limits.</summary>
    public static RegionOptions Default { get; } = new();

    /// <summary>How the region reacts to a failing task. Default <see cref="RegionPolicy.FailFast"/>.</summary>
    public RegionPolicy Policy { get; init; } = RegionPolicy.FailFast;

    /// <summary>The region's budget, met with its parent's. A deadline cancels the whole region.</summary>
    public Budget Budget { get; init; }

    /// <summary>At most this many live tasks at once (null: no limit).</summary>
    public int? MaxTasks { get; init; }

    /// <summary>At most this many open child regions at once (null: no limit).</summary>
    public int? MaxChildRegions { get; init; }

    /// <summary>At most this many Reserved obligations at once (null: no limit).</summary>
    public int? MaxObligations { get; init; }
}
