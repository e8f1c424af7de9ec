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

    /// <summary>
    /// Lets work in flight finish when the owner is cancelled (an HTTP request when its server drains). Null (the
    /// default): the owner's cancel reaches the region at once, as ParentCancelled. Set to a reserve R: the owner's
    /// cancel is held back, so the region's tasks run on undisturbed, and reaches the region only when the owner's
    /// cleanup deadline is R away (at once if it already is) — the region then drains under the cancel protocol
    /// with the R that is left as its cleanup budget. A region opened by an owner that is already draining gets
    /// the same point as its deadline. Every other cancel (the region's own deadline, an explicit or fail-fast
    /// cancel inside it) is not deferred, and the owner still waits for the region to close.
    /// </summary>
    public TimeSpan? DeferOwnerCancel { get; init; }

    /// <summary>At most this many Reserved obligations at once (null: no limit).</summary>
    public int? MaxObligations { get; init; }

    /// <summary>
    /// What happens when a task of this region leaks an obligation (null: the parent region's response, and at the
    /// root the runtime's <see cref="RuntimeOptions.LeakResponse"/>). Child regions inherit it.
    /// </summary>
    public LeakResponse? LeakResponse { get; init; }
}
