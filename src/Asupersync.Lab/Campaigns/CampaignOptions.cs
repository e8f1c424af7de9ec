namespace Asupersync.Lab.Campaigns;

/// <summary>What a campaign monitors, its stop rules and its budgets. Every property has a default.</summary>
public sealed record CampaignOptions
{
    /// <summary>
    /// The campaign's error level α (default 0.05), shared evenly by the monitored properties (Bonferroni): each
    /// rate property rejects when its e-value reaches m/α and each bound is a 1 − α/m confidence sequence, so the
    /// whole report — every rejection and every bound, at every moment — holds with probability at least 1 − α.
    /// </summary>
    public double Alpha { get; init; } = 0.05;

    /// <summary>The properties monitored (default <see cref="CampaignProperty.Defaults"/>).</summary>
    public IReadOnlyList<CampaignProperty> Properties { get; init; } = CampaignProperty.Defaults;

    /// <summary>
    /// Stop (and pass) as soon as every property's upper bound on its violation rate is at most this; null for no
    /// such rule (default). Checked after every run: the bounds are valid at every moment, so stopping on them is
    /// allowed.
    /// </summary>
    public double? TargetUpperBound { get; init; }

    /// <summary>The most runs (default 10,000), counted over all shards: run indices 0 … MaxRuns − 1.</summary>
    public int MaxRuns { get; init; } = 10_000;

    /// <summary>A wall-clock budget for this process (default 5 minutes). A campaign stopped by it is not reproducible by seed count alone.</summary>
    public TimeSpan MaxWallTime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How runs are drawn (default the portfolio).</summary>
    public CampaignStrategy Strategy { get; init; } = CampaignStrategy.Portfolio;

    /// <summary>The seed of run 0; run i uses seed FirstSeed + i (the Lab expands every seed, so nearby seeds are unrelated).</summary>
    public ulong FirstSeed { get; init; }

    /// <summary>The part of the campaign this process runs (default all of it).</summary>
    public CampaignShard Shard { get; init; } = CampaignShard.Single;

    /// <summary>Settings of each run (chaos, extra oracles, runtime options, program name, trace directory).</summary>
    public LabOptions Lab { get; init; } = LabOptions.Default;

    /// <summary>
    /// Whether runs record every kernel event (default false, for speed; oracles run either way). Turn it on when a
    /// predicate reads <see cref="LabRunResult.Trace"/> events. A violating run is always re-run with events on so that
    /// its trace can be saved and replayed.
    /// </summary>
    public bool RecordEvents { get; init; }

    /// <summary>Called with the campaign's state about every <see cref="ProgressInterval"/> of wall-clock time, and once at the end.</summary>
    public Action<CampaignProgress>? Progress { get; init; }

    /// <summary>How often <see cref="Progress"/> is called (default 1 s).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);
}
