namespace Asupersync.Lab.Campaigns;

/// <summary>What a campaign was asked to do: shards of one plan merge; results of different plans do not.</summary>
/// <param name="ProgramName">The program's name, if any.</param>
/// <param name="Strategy">How runs are drawn.</param>
/// <param name="FirstSeed">The seed of run 0.</param>
/// <param name="MaxRuns">The run budget over all shards.</param>
/// <param name="Alpha">The campaign's α.</param>
/// <param name="TargetUpperBound">The target bound, if any.</param>
/// <param name="Properties">Each property's name and p₀ (null for an invariant), in order.</param>
/// <param name="ShardCount">How many shards the campaign is split into.</param>
public sealed record CampaignPlan(string? ProgramName, CampaignStrategy Strategy, ulong FirstSeed, int MaxRuns, double Alpha, double? TargetUpperBound,
    IReadOnlyList<(string Name, double? NullRate)> Properties, int ShardCount)
{
    /// <summary>The level each property's statistics use: α divided by the number of properties.</summary>
    public double AlphaEach => Alpha / Properties.Count;

    internal static CampaignPlan From(CampaignOptions o) =>
        new(o.Lab.ProgramName, o.Strategy, o.FirstSeed, o.MaxRuns, o.Alpha, o.TargetUpperBound, o.Properties.Select(p => (p.Name, p.NullRate)).ToArray(), o.Shard.Count);

    /// <summary>True when <paramref name="other"/> is the same plan (so that their shards can merge).</summary>
    /// <param name="other">Another plan.</param>
    /// <returns>Whether they match.</returns>
    public bool SameAs(CampaignPlan other) =>
        ProgramName == other.ProgramName && Strategy == other.Strategy && FirstSeed == other.FirstSeed && MaxRuns == other.MaxRuns &&
        Alpha.Equals(other.Alpha) && Nullable.Equals(TargetUpperBound, other.TargetUpperBound) && ShardCount == other.ShardCount &&
        Properties.SequenceEqual(other.Properties);
}

/// <summary>The running counts of a campaign (or of merged shards).</summary>
internal sealed class CampaignCounts(int properties)
{
    internal long Runs;
    internal readonly long[] Violations = new long[properties];
    internal readonly long?[] FirstRun = new long?[properties];
    internal readonly ulong?[] FirstSeed = new ulong?[properties];

    internal void Record(int property, long run, ulong seed)
    {
        Violations[property]++;
        if (FirstRun[property] is null || run < FirstRun[property])
        {
            FirstRun[property] = run;
            FirstSeed[property] = seed;
        }
    }

    /// <summary>Whether every property's upper bound is at most <paramref name="target"/>: target lies above the estimate and outside the confidence set.</summary>
    internal bool AllBoundsBelow(double target, double logThreshold)
    {
        for (int j = 0; j < Violations.Length; j++)
        {
            if (Violations[j] >= target * Runs) return false;
            if (Statistics.RateConfidenceSequence.LogMixture(Runs, Violations[j], target) < logThreshold) return false;
        }
        return true;
    }

    internal IReadOnlyList<CampaignPropertyResult> Results(CampaignPlan plan) =>
        plan.Properties.Select((p, j) => new CampaignPropertyResult(p.Name, p.NullRate, Runs, Violations[j], plan.AlphaEach, FirstRun[j], FirstSeed[j])).ToArray();
}
