namespace Asupersync.Lab.Campaigns;

/// <summary>Which rule stopped a campaign (and so what its result means).</summary>
public enum CampaignStopRule
{
    /// <summary>An invariant was violated: the campaign fails with the violating run's seed and trace.</summary>
    Violation,

    /// <summary>A rate property's e-value reached m/α: its violation rate is above p₀ (the campaign fails).</summary>
    Evidence,

    /// <summary>Every property's upper bound on its violation rate reached <see cref="CampaignOptions.TargetUpperBound"/> (the campaign passes).</summary>
    TargetBound,

    /// <summary>All <see cref="CampaignOptions.MaxRuns"/> runs were done without another rule firing; the bounds say what was shown.</summary>
    RunBudget,

    /// <summary><see cref="CampaignOptions.MaxWallTime"/> ran out first; the bounds say what was shown.</summary>
    TimeBudget,
}
