using System.Globalization;
using Asupersync.Lab.Campaigns.Statistics;

namespace Asupersync.Lab.Campaigns;

/// <summary>
/// A property's figures at the end of a campaign (or at a progress snapshot). Everything is computed from the
/// counts, so merged shards give exactly what one process would over the same runs.
/// </summary>
public sealed class CampaignPropertyResult
{
    internal CampaignPropertyResult(string name, double? nullRate, long runs, long violations, double alphaEach, long? firstViolationRun, ulong? firstViolationSeed)
    {
        Name = name;
        NullRate = nullRate;
        Runs = runs;
        Violations = violations;
        Alpha = alphaEach;
        FirstViolationRun = firstViolationRun;
        FirstViolationSeed = firstViolationSeed;
        LogEValue = new BettingEProcess(nullRate ?? 0).LogEValueOf(runs, violations);
        UpperBound = RateConfidenceSequence.Upper(runs, violations, alphaEach);
    }

    /// <summary>The property's name.</summary>
    public string Name { get; }

    /// <summary>p₀, or null for an invariant.</summary>
    public double? NullRate { get; }

    /// <summary>Runs observed.</summary>
    public long Runs { get; }

    /// <summary>Violating runs.</summary>
    public long Violations { get; }

    /// <summary>The level this property's statistics use: the campaign's α divided by the number of properties.</summary>
    public double Alpha { get; }

    /// <summary>ln of the e-value against H₀: rate ≤ p₀ (+∞ for a violated invariant).</summary>
    public double LogEValue { get; }

    /// <summary>The e-value against H₀: rate ≤ p₀ (for an invariant: 1 until violated, then +∞).</summary>
    public double EValue => Math.Exp(LogEValue);

    /// <summary>True when the e-value reached 1/<see cref="Alpha"/>: the rate exceeds p₀ (or the invariant is violated).</summary>
    public bool Rejected => LogEValue >= -Math.Log(Alpha);

    /// <summary>The upper end of the 1 − <see cref="Alpha"/> confidence sequence for the violation rate, valid whenever the campaign stopped.</summary>
    public double UpperBound { get; }

    /// <summary>The index of the first violating run, or null.</summary>
    public long? FirstViolationRun { get; }

    /// <summary>The seed of the first violating run, or null.</summary>
    public ulong? FirstViolationSeed { get; }

    /// <summary>A short form: name, violations/runs, e-value, bound.</summary>
    /// <returns>The text.</returns>
    public string Brief() =>
        string.Create(CultureInfo.InvariantCulture, $"{Name} {Violations}/{Runs}") +
        (NullRate is { } p ? string.Create(CultureInfo.InvariantCulture, $" E={FormatE(EValue)} vs p0={p}") : "") +
        string.Create(CultureInfo.InvariantCulture, $" rate<={UpperBound:G3}");

    /// <inheritdoc />
    public override string ToString() => Brief();

    internal static string FormatE(double e) => double.IsPositiveInfinity(e) ? "inf" : e.ToString(e >= 1e4 || e < 1e-3 ? "0.00e0" : "G4", CultureInfo.InvariantCulture);
}
