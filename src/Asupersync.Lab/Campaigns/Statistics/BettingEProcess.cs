namespace Asupersync.Lab.Campaigns.Statistics;

/// <summary>
/// An e-process for the null hypothesis "each run violates the property with probability at most p₀", built by
/// betting: a gambler starts with wealth 1 and, before each run, stakes a fraction of it on "violation". Under the
/// null no bet has positive expected gain, so the wealth is a nonnegative supermartingale and, by Ville's
/// inequality, P(wealth ever reaches 1/α) ≤ α. Reject the null the first time <see cref="EValue"/> ≥ 1/α —
/// checking after every run, or whenever you like, costs nothing.
/// </summary>
/// <remarks>
/// <para>
/// Construction: the wealth after observing X₁…Xₙ (1 = violation) with a constant bet λ is
/// Πᵢ (1 + λ(Xᵢ − p₀)), a test supermartingale for every λ ∈ [0, 1/p₀] when the violation probability is ≤ p₀
/// (E[1 + λ(X − p₀)] = 1 + λ(p − p₀) ≤ 1). We do not know which λ is best (Kelly's λ depends on the unknown rate),
/// so the e-process is the uniform mixture of a fixed geometric grid of bets λⱼ = 2⁻ʲ/p₀, j = 1…J, with J chosen so
/// that the smallest bet suits alternatives close to p₀. A mixture of test supermartingales is one, so Ville
/// applies to the mixture; its growth rate is within ln J of the best bet on the grid in hindsight.
/// See Ramdas, Grünwald, Vovk and Shafer, "Game-theoretic statistics and safe anytime-valid inference",
/// Statistical Science 38(4), 2023, §3–4, and Waudby-Smith and Ramdas, "Estimating means of bounded random
/// variables by betting", JRSS-B 86(1), 2024 (mixtures of constant bets, "hedged capital").
/// </para>
/// <para>
/// Each bet's wealth depends only on the counts (runs, violations), not on their order, so the mixture is a
/// function of the counts: campaigns sharded over disjoint seeds merge by adding counts and get the value a
/// single process would have computed over the same runs.
/// </para>
/// <para>
/// p₀ = 0 means "never violated": one violation refutes the null outright (the e-value becomes +∞), no
/// violation leaves it at 1.
/// </para>
/// </remarks>
public sealed class BettingEProcess
{
    private readonly double[] _winLog;
    private readonly double[] _loseLog;

    /// <summary>Creates the e-process.</summary>
    /// <param name="nullRate">p₀, in [0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">p₀ is outside [0, 1).</exception>
    public BettingEProcess(double nullRate)
    {
        if (!(nullRate >= 0 && nullRate < 1))
            throw new ArgumentOutOfRangeException(nameof(nullRate), nullRate, "The null rate p0 must be in [0, 1).");
        NullRate = nullRate;
        if (nullRate == 0)
        {
            _winLog = [];
            _loseLog = [];
            return;
        }
        // Kelly's bet against an alternative rate p is the fraction c = (p − p0)/(1 − p0) of wealth, i.e.
        // λ = c/p0; the grid c = 1/2, 1/4, … down to about p0/4 covers alternatives from 1.25·p0 up to about 1/2.
        int count = Math.Clamp((int)Math.Ceiling(Math.Log2(4 / nullRate)), 3, 50);
        _winLog = new double[count];
        _loseLog = new double[count];
        for (int j = 0; j < count; j++)
        {
            double c = Math.Pow(2, -(j + 1));
            _winLog[j] = Math.Log(1 + c * (1 - nullRate) / nullRate);
            _loseLog[j] = Math.Log(1 - c);
        }
    }

    /// <summary>p₀: the largest violation rate the null hypothesis allows.</summary>
    public double NullRate { get; }

    /// <summary>How many bets the mixture holds (0 when p₀ = 0).</summary>
    public int BetCount => _winLog.Length;

    /// <summary>Runs observed.</summary>
    public long Runs { get; private set; }

    /// <summary>Violations observed.</summary>
    public long Violations { get; private set; }

    /// <summary>The natural logarithm of the current e-value (0 before any run).</summary>
    public double LogEValue => LogEValueOf(Runs, Violations);

    /// <summary>The current e-value: the gambler's wealth. Evidence against the null is strong when it is large.</summary>
    public double EValue => Math.Exp(LogEValue);

    /// <summary>Records one run.</summary>
    /// <param name="violated">Whether the run violated the property.</param>
    public void Observe(bool violated)
    {
        Runs++;
        if (violated) Violations++;
    }

    /// <summary>Records many runs at once (for example another shard's counts).</summary>
    /// <param name="runs">Runs.</param>
    /// <param name="violations">Violations among them.</param>
    public void Add(long runs, long violations)
    {
        if (runs < 0 || violations < 0 || violations > runs) throw new ArgumentOutOfRangeException(nameof(violations), "Need 0 ≤ violations ≤ runs.");
        Runs += runs;
        Violations += violations;
    }

    /// <summary>True when the e-value has reached 1/<paramref name="alpha"/>: reject the null at level α.</summary>
    /// <param name="alpha">The level, in (0, 1).</param>
    /// <returns>Whether to reject.</returns>
    public bool Rejects(double alpha) => LogEValue >= -Math.Log(alpha);

    /// <summary>The log e-value after <paramref name="runs"/> runs with <paramref name="violations"/> violations, whatever their order.</summary>
    /// <param name="runs">Runs.</param>
    /// <param name="violations">Violations.</param>
    /// <returns>ln E.</returns>
    public double LogEValueOf(long runs, long violations)
    {
        if (NullRate == 0) return violations > 0 ? double.PositiveInfinity : 0;
        if (runs == 0) return 0;
        Span<double> terms = stackalloc double[_winLog.Length];
        for (int j = 0; j < terms.Length; j++) terms[j] = violations * _winLog[j] + (runs - violations) * _loseLog[j];
        return SpecialFunctions.LogSumExp(terms) - Math.Log(terms.Length);
    }
}
