namespace Asupersync.Lab.Campaigns;

/// <summary>
/// A property a campaign monitors over its runs: an invariant that must never be violated (the default), or a
/// flaky property allowed to fail at a rate up to <see cref="NullRate"/> (p₀).
/// </summary>
/// <remarks>
/// For an invariant the campaign stops and fails at the first violating run. For a rate property it keeps a
/// <see cref="Statistics.BettingEProcess"/> for H₀: rate ≤ p₀ and fails as soon as the evidence against H₀ is
/// strong enough. For both it reports an anytime-valid upper bound on the violation rate
/// (<see cref="Statistics.RateConfidenceSequence"/>).
/// </remarks>
public sealed class CampaignProperty
{
    private CampaignProperty(string name, double? nullRate, Func<LabRunResult, bool>? violated, string? oracle, bool catchAll)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (nullRate is { } p && !(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(nullRate), p, "The null rate p0 must be in [0, 1).");
        Name = name;
        NullRate = nullRate is 0 ? null : nullRate;
        Violated = violated;
        OracleName = oracle;
        IsCatchAll = catchAll;
    }

    /// <summary>The property's name in reports and result files.</summary>
    public string Name { get; }

    /// <summary>p₀, the largest violation rate tolerated; null for an invariant that must never be violated.</summary>
    public double? NullRate { get; }

    /// <summary>True for an invariant (no violation tolerated).</summary>
    public bool IsInvariant => NullRate is null;

    internal Func<LabRunResult, bool>? Violated { get; }

    internal string? OracleName { get; }

    internal bool IsCatchAll { get; }

    /// <summary>Violated when the named oracle (built in, or one added through <see cref="LabOptions.Oracles"/>) fires in a run.</summary>
    /// <param name="oracle">The oracle's name, as in <see cref="LabFailure.Oracle"/>.</param>
    /// <param name="nullRate">p₀, or null for an invariant.</param>
    /// <returns>The property.</returns>
    public static CampaignProperty Oracle(string oracle, double? nullRate = null) => new(oracle, nullRate, null, oracle, false);

    /// <summary>A user predicate over runs: violated when <paramref name="violated"/> returns true for a run.</summary>
    /// <param name="name">The property's name.</param>
    /// <param name="violated">Decides whether a run violates the property. Runs are recorded without events unless <see cref="CampaignOptions.RecordEvents"/> is set.</param>
    /// <param name="nullRate">p₀, or null for an invariant.</param>
    /// <returns>The property.</returns>
    public static CampaignProperty Predicate(string name, Func<LabRunResult, bool> violated, double? nullRate = null)
    {
        ArgumentNullException.ThrowIfNull(violated);
        return new(name, nullRate, violated, null, false);
    }

    /// <summary>
    /// Every other reason a run can fail: the program threw (root Panicked), the root never closed (deadlock, step
    /// limit), or an oracle fired that no <see cref="Oracle"/> property of the campaign monitors. Named "Run".
    /// </summary>
    /// <param name="nullRate">p₀ (for a program whose own assertion is allowed to fail sometimes), or null.</param>
    /// <returns>The property.</returns>
    public static CampaignProperty OtherFailures(double? nullRate = null) => new("Run", nullRate, null, null, true);

    /// <summary>TaskLeak: a task outlived its region.</summary>
    public static CampaignProperty TaskLeak { get; } = Oracle(LabOracles.TaskLeak);

    /// <summary>ObligationLeak: an obligation was neither committed nor aborted.</summary>
    public static CampaignProperty ObligationLeak { get; } = Oracle(LabOracles.ObligationLeak);

    /// <summary>Quiescence: a closed region still held something.</summary>
    public static CampaignProperty Quiescence { get; } = Oracle(LabOracles.Quiescence);

    /// <summary>The default set: TaskLeak, ObligationLeak and Quiescence as invariants, and every other failure ("Run") as an invariant.</summary>
    public static IReadOnlyList<CampaignProperty> Defaults { get; } = [TaskLeak, ObligationLeak, Quiescence, OtherFailures()];

    /// <summary>The same property with another p₀.</summary>
    /// <param name="nullRate">p₀, or null for an invariant.</param>
    /// <returns>A new property.</returns>
    public CampaignProperty WithNullRate(double? nullRate) => new(Name, nullRate, Violated, OracleName, IsCatchAll);

    internal bool IsViolatedBy(LabRunResult run, IReadOnlySet<string> monitoredOracles)
    {
        if (OracleName is not null) return run.OracleFailures.Any(f => f.Oracle == OracleName);
        if (Violated is not null) return Violated(run);
        // The catch-all: anything that made the run fail and that no oracle property already counts. The Lab records
        // a panicked root, a deadlock and a step limit as failures too; a run that fails with no failure recorded
        // still counts here, so a verdict rule added to the Lab later cannot slip past the campaign.
        if (!run.Passed && run.OracleFailures.Count == 0) return true;
        return run.OracleFailures.Any(f => !monitoredOracles.Contains(f.Oracle));
    }

    /// <inheritdoc />
    public override string ToString() => NullRate is { } p ? $"{Name} (rate ≤ {p})" : $"{Name} (never)";
}
