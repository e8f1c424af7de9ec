using Asupersync.Lab.Campaigns.Statistics;
using Xunit.Abstractions;

namespace Asupersync.Lab.Tests.Campaigns;

/// <summary>
/// The betting e-process validated by simulation (deterministic seeds, bounded to well under a few seconds):
/// under the null the chance of ever rejecting is at most α; under alternatives it rejects, and the median number
/// of runs it needs is reported.
/// </summary>
public sealed class EProcessSimulationTests(ITestOutputHelper output)
{
    private const double Alpha = 0.05;

    // Three standard errors of a binomial proportion at α over this many simulated campaigns.
    private static double Slack(int campaigns) => 3 * Math.Sqrt(Alpha * (1 - Alpha) / campaigns);

    [Theory]
    [InlineData(0.1, 0.1, 1000)]
    [InlineData(0.01, 0.01, 2000)]
    [InlineData(0.1, 0.05, 1000)]
    public void UnderNull_EverRejectingHasProbabilityAtMostAlpha(double p0, double trueRate, int runsPerCampaign)
    {
        const int campaigns = 2000;
        var rng = new Random(1601);
        int rejected = 0;
        for (int c = 0; c < campaigns; c++)
        {
            var e = new BettingEProcess(p0);
            for (int t = 0; t < runsPerCampaign; t++)
            {
                bool violated = rng.NextDouble() < trueRate;
                e.Observe(violated);
                // A run without violation makes every bet lose, so the e-value can only cross 1/α at a violation:
                // checking there is checking after every run.
                if (violated && e.Rejects(Alpha))
                {
                    rejected++;
                    break;
                }
            }
        }
        double rate = rejected / (double)campaigns;
        output.WriteLine($"p0={p0} true={trueRate}: rejected {rejected}/{campaigns} = {rate:P2} (α = {Alpha:P0}), checking after every run");
        Assert.True(rate <= Alpha + Slack(campaigns), $"type-I error {rate:P2} exceeds α = {Alpha:P0}");
    }

    [Fact]
    public void Simulation_DetectsAnInvalidSequentialTest()
    {
        // The same simulation applied to a test that is valid only at a fixed sample size — a one-sided z-test
        // re-checked after every run — rejects a true null far more often than α. So the simulation above can
        // tell an anytime-valid test from one that is not.
        const int campaigns = 2000;
        double p0 = 0.1;
        var rng = new Random(1602);
        int rejected = 0;
        for (int c = 0; c < campaigns; c++)
        {
            int k = 0;
            for (int t = 1; t <= 1000; t++)
            {
                if (rng.NextDouble() < p0) k++;
                double z = (k - t * p0) / Math.Sqrt(t * p0 * (1 - p0));
                if (t >= 10 && z > 1.645)
                {
                    rejected++;
                    break;
                }
            }
        }
        double rate = rejected / (double)campaigns;
        output.WriteLine($"peeking z-test: rejected a true null in {rate:P1} of campaigns");
        Assert.True(rate > Alpha + Slack(campaigns), $"peeking z-test rejected only {rate:P2}");
    }

    [Fact]
    public void UnderAlternatives_RejectsAndReportsMedianRunsToRejection()
    {
        const double p0 = 0.01;
        const int campaigns = 200, budget = 20_000;
        var medians = new List<double>();
        foreach (double p in new[] { 0.1, 0.05, 0.02 })
        {
            var rng = new Random(1603);
            var stops = new List<int>();
            for (int c = 0; c < campaigns; c++)
            {
                var e = new BettingEProcess(p0);
                for (int t = 1; t <= budget; t++)
                {
                    bool violated = rng.NextDouble() < p;
                    e.Observe(violated);
                    if (violated && e.Rejects(Alpha))
                    {
                        stops.Add(t);
                        break;
                    }
                }
            }
            stops.Sort();
            double power = stops.Count / (double)campaigns;
            double median = stops.Count > campaigns / 2 ? stops[campaigns / 2] : double.PositiveInfinity;
            medians.Add(median);
            output.WriteLine($"H0: rate ≤ {p0}, true rate {p}: rejected in {power:P1} of {campaigns} campaigns within {budget} runs, median runs to rejection {median}");
            Assert.True(power >= 0.95, $"power {power:P1} at rate {p}");
        }
        // Stronger evidence arrives faster.
        Assert.True(medians[0] < medians[1] && medians[1] < medians[2], string.Join(", ", medians));
        // Orders of magnitude from the information bound ln(1/α)/KL(p‖p0): about 40, 73 and 770 runs.
        Assert.InRange(medians[0], 20, 400);
        Assert.InRange(medians[2], 300, 10_000);
    }

    [Fact]
    public void EValue_DependsOnlyOnTheCounts()
    {
        var ordered = new BettingEProcess(0.05);
        var reversed = new BettingEProcess(0.05);
        var rng = new Random(1604);
        var xs = Enumerable.Range(0, 500).Select(_ => rng.NextDouble() < 0.12).ToArray();
        foreach (var x in xs) ordered.Observe(x);
        foreach (var x in xs.Reverse()) reversed.Observe(x);
        var pooled = new BettingEProcess(0.05);
        pooled.Add(200, xs.Take(200).Count(x => x));
        pooled.Add(300, xs.Skip(200).Count(x => x));
        Assert.Equal(ordered.LogEValue, reversed.LogEValue, 12);
        Assert.Equal(ordered.LogEValue, pooled.LogEValue, 12);
        Assert.True(ordered.EValue > 1, "a 12 % rate against p0 = 5 % should have gained");
    }

    [Fact]
    public void EValue_FallsWithoutViolationsAndRisesWithThem()
    {
        var e = new BettingEProcess(0.1);
        Assert.Equal(1, e.EValue);
        for (int i = 0; i < 50; i++) e.Observe(false);
        Assert.True(e.EValue < 1);
        var f = new BettingEProcess(0.1);
        for (int i = 0; i < 10; i++) f.Observe(true);
        Assert.True(f.Rejects(Alpha), $"ten violations in ten runs against p0 = 10 %: E = {f.EValue}");
    }

    [Fact]
    public void ZeroNullRate_OneViolationRefutes()
    {
        var e = new BettingEProcess(0);
        for (int i = 0; i < 1000; i++) e.Observe(false);
        Assert.Equal(1, e.EValue);
        Assert.False(e.Rejects(Alpha));
        e.Observe(true);
        Assert.True(double.IsPositiveInfinity(e.EValue));
        Assert.True(e.Rejects(1e-12));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void InvalidNullRate_IsRejected(double p0) => Assert.Throws<ArgumentOutOfRangeException>(() => new BettingEProcess(p0));
}
