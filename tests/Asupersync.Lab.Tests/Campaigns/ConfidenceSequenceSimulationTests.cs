using Asupersync.Lab.Campaigns.Statistics;
using Xunit.Abstractions;

namespace Asupersync.Lab.Tests.Campaigns;

/// <summary>
/// The rate confidence sequence validated by simulation: it covers the true rate at every time simultaneously in
/// at least 1 − α of the simulated campaigns (deterministic seeds, bounded).
/// </summary>
public sealed class ConfidenceSequenceSimulationTests(ITestOutputHelper output)
{
    private const double Alpha = 0.05;

    private static double Slack(int campaigns) => 3 * Math.Sqrt(Alpha * (1 - Alpha) / campaigns);

    [Theory]
    [InlineData(0.001)]
    [InlineData(0.02)]
    [InlineData(0.3)]
    public void CoversTheTrueRate_UniformlyOverTime(double p)
    {
        const int campaigns = 1000, horizon = 2000;
        double threshold = -Math.Log(Alpha);
        double a = RateConfidenceSequence.PriorA, b = RateConfidenceSequence.PriorB;
        var rng = new Random(1611);
        int everMissed = 0, spotChecks = 0;
        for (int c = 0; c < campaigns; c++)
        {
            long k = 0;
            bool missed = false;
            double logM = 0;
            for (long t = 1; t <= horizon; t++)
            {
                // ln Mₜ(p), updated in O(1): the Beta-mixture's predictive probability of this outcome over p's.
                if (rng.NextDouble() < p)
                {
                    logM += Math.Log((a + k) / (a + b + t - 1)) - Math.Log(p);
                    k++;
                }
                else
                {
                    logM += Math.Log((b + (t - 1 - k)) / (a + b + t - 1)) - Math.Log(1 - p);
                }
                // p lies outside the interval exactly when the mixture at p has crossed 1/α (that is the definition
                // of the set); at spot times also check that the public bounds say the same.
                bool outside = logM >= threshold;
                if (t % 97 == 0 && c % 10 == 0)
                {
                    spotChecks++;
                    Assert.Equal(RateConfidenceSequence.LogMixture(t, k, p), logM, 1e-8);
                    bool outsideBounds = p > RateConfidenceSequence.Upper(t, k, Alpha) || p < RateConfidenceSequence.Lower(t, k, Alpha);
                    Assert.Equal(outside, outsideBounds);
                }
                if (outside) missed = true;
            }
            if (missed) everMissed++;
        }
        double rate = everMissed / (double)campaigns;
        output.WriteLine($"rate {p}: the sequence missed it at some time in {everMissed}/{campaigns} = {rate:P2} of campaigns over {horizon} runs ({spotChecks} spot checks of the bounds)");
        Assert.True(rate <= Alpha + Slack(campaigns), $"miscoverage {rate:P2} exceeds α");
    }

    [Fact]
    public void Simulation_DetectsAFixedSampleBoundPeekedAtEveryRun()
    {
        // The Wald interval k/n + 1.645·sqrt(p̂(1−p̂)/n), valid (roughly) at one fixed n, misses the rate at some
        // time far more often than α when looked at after every run.
        const int campaigns = 1000;
        double p = 0.1;
        var rng = new Random(1612);
        int missed = 0;
        for (int c = 0; c < campaigns; c++)
        {
            int k = 0;
            for (int t = 1; t <= 2000; t++)
            {
                if (rng.NextDouble() < p) k++;
                double hat = (double)k / t;
                if (t >= 30 && hat + 1.645 * Math.Sqrt(hat * (1 - hat) / t) < p)
                {
                    missed++;
                    break;
                }
            }
        }
        double rate = missed / (double)campaigns;
        output.WriteLine($"peeked Wald upper bound missed the rate in {rate:P1} of campaigns");
        Assert.True(rate > Alpha + Slack(campaigns));
    }

    [Fact]
    public void NoViolations_BoundMatchesClosedFormAndShrinksAboutAsLogNOverN()
    {
        foreach (long n in new long[] { 10, 100, 1000, 100_000 })
        {
            double u = RateConfidenceSequence.Upper(n, 0, Alpha);
            // With k = 0 the crossing solves (1 − u)^n = α·B(a, b + n)/B(a, b).
            double logB = LogGamma(0.5) + LogGamma(n + 0.5) - LogGamma(n + 1.0);
            double closed = 1 - Math.Exp((logB - Math.Log(Math.PI) + Math.Log(Alpha)) / n);
            output.WriteLine($"no violation in {n} runs: rate ≤ {u:G4} (rule of three, fixed n only: {3.0 / n:G4})");
            Assert.Equal(closed, u, 1e-9);
            Assert.InRange(u * n, 3.0, Math.Log(1 / Alpha) + 0.5 * Math.Log(n) + 1.5);
        }
        Assert.Equal(1, RateConfidenceSequence.Upper(0, 0, Alpha));
        Assert.Equal(0, RateConfidenceSequence.Lower(1000, 0, Alpha));
    }

    [Fact]
    public void Bounds_AreOrderedAndContainTheEstimate()
    {
        foreach (var (n, k) in new (long, long)[] { (1, 1), (10, 3), (1000, 17), (50, 50), (100_000, 2) })
        {
            double lo = RateConfidenceSequence.Lower(n, k, Alpha), hi = RateConfidenceSequence.Upper(n, k, Alpha);
            double hat = (double)k / n;
            Assert.True(lo <= hat && hat <= hi, $"{k}/{n}: [{lo}, {hi}]");
            Assert.True(RateConfidenceSequence.LogMixture(n, k, hi) >= -Math.Log(Alpha) || hi == 1);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => RateConfidenceSequence.Upper(5, 6, Alpha));
        Assert.Throws<ArgumentOutOfRangeException>(() => RateConfidenceSequence.Upper(5, 1, 0));
    }

    [Fact]
    public void LogGamma_MatchesKnownValues()
    {
        Assert.Equal(Math.Log(Math.Sqrt(Math.PI)), LogGamma(0.5), 12);
        Assert.Equal(Math.Log(362880), LogGamma(10), 10);
        Assert.Equal(Math.Log(9.513507698668732), LogGamma(0.1), 12);
        Assert.Equal(0, LogGamma(1), 12);
        Assert.Equal(0, LogGamma(2), 12);
    }

    private static double LogGamma(double x) => SpecialFunctions.LogGamma(x);
}
