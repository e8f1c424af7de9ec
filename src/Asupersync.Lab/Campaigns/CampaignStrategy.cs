namespace Asupersync.Lab.Campaigns;

/// <summary>
/// How a campaign draws its runs. Every strategy here is a <em>sampler</em>: run i is drawn from its own seed alone,
/// independently of every other run, which is what the campaign statistics assume and what lets shards split the
/// seeds and merge exactly. Systematic search (DPOR, exhaustive) enumerates instead of sampling and belongs to
/// <see cref="LabRuntime.Explore"/>.
/// </summary>
public enum CampaignStrategy
{
    /// <summary>
    /// Each run picks, from its seed, one of random walk, PCT with depth 2 and PCT with depth 3 (equal odds).
    /// The runs are independent and identically distributed, so the rate a campaign measures is the rate of this
    /// mixture.
    /// </summary>
    Portfolio,

    /// <summary>Random walk: every step picks uniformly among the enabled tasks (what <see cref="LabRuntime.Run"/> does).</summary>
    Random,

    /// <summary>PCT with depth 3 (two priority change points), its step horizon measured once from a probe run.</summary>
    Pct,
}
