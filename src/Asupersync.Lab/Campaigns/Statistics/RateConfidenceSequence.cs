namespace Asupersync.Lab.Campaigns.Statistics;

/// <summary>
/// A confidence sequence for a violation rate: bounds that hold at every moment simultaneously, so that a
/// campaign may look at its bound after every run and stop whenever it likes. "No violation in N runs: rate ≤ x
/// with confidence 1 − α" is <c>Upper(N, 0, α)</c>.
/// </summary>
/// <remarks>
/// <para>
/// Construction (Robbins' method of mixtures, for Bernoulli observations): for a candidate rate p, the ratio
/// Mₙ(p) = ∫ qᵏ(1−q)ⁿ⁻ᵏ dπ(q) / (pᵏ(1−p)ⁿ⁻ᵏ), with a Beta(a, b) mixing distribution π, is a nonnegative
/// martingale with mean 1 when p is the true rate. By Ville's inequality it exceeds 1/α at some time with
/// probability at most α, so the sets Cₙ = { p : Mₙ(p) &lt; 1/α } cover the true rate at all times at once with
/// probability at least 1 − α. With the Beta mixture, Mₙ(p) = B(a + k, b + n − k) / B(a, b) / (pᵏ(1−p)ⁿ⁻ᵏ), so
/// the bounds depend on the counts only. We use a = b = 1/2 (Jeffreys), which puts more weight near the small
/// rates campaigns care about than a uniform mixture. Cₙ is an interval containing k/n; its ends are found by
/// bisection. See H. Robbins, "Statistical methods related to the law of the iterated logarithm", Ann. Math.
/// Statist. 41, 1970; Howard, Ramdas, McAuliffe and Sekhon, "Time-uniform, nonparametric, nonasymptotic
/// confidence sequences", Ann. Statist. 49(2), 2021 (conjugate mixtures); Waudby-Smith and Ramdas, JRSS-B 2024.
/// </para>
/// <para>
/// The price of validity at all times is small: with no violation the upper bound is about
/// (ln(1/α) + ½ ln n + 0.6)/n, against 3/n for the fixed-sample "rule of three" that is valid only if you decided
/// n in advance and never looked before.
/// </para>
/// </remarks>
public static class RateConfidenceSequence
{
    /// <summary>The mixing distribution's first parameter (Jeffreys).</summary>
    public const double PriorA = 0.5;

    /// <summary>The mixing distribution's second parameter (Jeffreys).</summary>
    public const double PriorB = 0.5;

    /// <summary>ln Mₙ(p): the log of the mixture martingale at rate <paramref name="p"/> after <paramref name="runs"/> runs with <paramref name="violations"/> violations.</summary>
    /// <param name="runs">n.</param>
    /// <param name="violations">k.</param>
    /// <param name="p">A candidate rate in [0, 1].</param>
    /// <returns>ln Mₙ(p) (+∞ where p is impossible given the counts).</returns>
    public static double LogMixture(long runs, long violations, double p)
    {
        Check(runs, violations);
        if (p is < 0 or > 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "A rate is in [0, 1].");
        long misses = runs - violations;
        if ((violations > 0 && p == 0) || (misses > 0 && p == 1)) return double.PositiveInfinity;
        double logLikelihood = (violations > 0 ? violations * Math.Log(p) : 0) + (misses > 0 ? misses * Math.Log(1 - p) : 0);
        return SpecialFunctions.LogBeta(PriorA + violations, PriorB + misses) - SpecialFunctions.LogBeta(PriorA, PriorB) - logLikelihood;
    }

    /// <summary>The upper end of the 1 − α confidence sequence after <paramref name="runs"/> runs with <paramref name="violations"/> violations.</summary>
    /// <param name="runs">n ≥ 0.</param>
    /// <param name="violations">k, 0 ≤ k ≤ n.</param>
    /// <param name="alpha">α in (0, 1).</param>
    /// <returns>The bound (1 before any run).</returns>
    public static double Upper(long runs, long violations, double alpha)
    {
        double threshold = Threshold(runs, violations, alpha);
        double lo = (double)violations / Math.Max(1, runs), hi = 1;
        if (runs == 0 || LogMixture(runs, violations, hi) < threshold) return 1;
        return Bisect(runs, violations, threshold, inside: lo, outside: hi);
    }

    /// <summary>The lower end of the 1 − α confidence sequence.</summary>
    /// <param name="runs">n ≥ 0.</param>
    /// <param name="violations">k, 0 ≤ k ≤ n.</param>
    /// <param name="alpha">α in (0, 1).</param>
    /// <returns>The bound (0 before any run).</returns>
    public static double Lower(long runs, long violations, double alpha)
    {
        double threshold = Threshold(runs, violations, alpha);
        double hi = (double)violations / Math.Max(1, runs);
        if (runs == 0 || LogMixture(runs, violations, 0) < threshold) return 0;
        return Bisect(runs, violations, threshold, inside: hi, outside: 0);
    }

    private static double Threshold(long runs, long violations, double alpha)
    {
        Check(runs, violations);
        if (!(alpha > 0 && alpha < 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "α must be in (0, 1).");
        return -Math.Log(alpha);
    }

    // ln M is convex in p with its minimum (≤ 0) at k/n, so the set where it is below the threshold is an
    // interval around k/n and each end is found by bisection between a point inside and a point outside.
    private static double Bisect(long runs, long violations, double threshold, double inside, double outside)
    {
        for (int i = 0; i < 200 && Math.Abs(outside - inside) > 1e-15; i++)
        {
            double mid = 0.5 * (inside + outside);
            if (LogMixture(runs, violations, mid) < threshold) inside = mid;
            else outside = mid;
        }
        // The outside point is never inside the set: reporting it keeps the bound conservative.
        return outside;
    }

    private static void Check(long runs, long violations)
    {
        if (runs < 0 || violations < 0 || violations > runs)
            throw new ArgumentOutOfRangeException(nameof(violations), $"Need 0 ≤ violations ≤ runs (got {violations} of {runs}).");
    }
}
