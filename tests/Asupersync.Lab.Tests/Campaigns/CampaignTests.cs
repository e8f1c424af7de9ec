using Asupersync.Lab.Campaigns;

namespace Asupersync.Lab.Tests.Campaigns;

/// <summary>The campaign engine: stop rules, the properties it monitors, determinism, and what its report says.</summary>
public sealed class CampaignTests
{
    /// <summary>A program whose own check fails with probability <paramref name="rate"/>, decided by the run's seeded entropy.</summary>
    internal static Func<Cx, Task> Flaky(double rate) => async cx =>
    {
        var worker = cx.Spawn("worker", async cx => await cx.YieldAsync());
        await worker.JoinAsync(cx);
        if (cx.NextRandomDouble() < rate) throw new TimeoutException("the retry budget ran out");
    };

    [Fact]
    public void CleanProgram_StopsAsSoonAsEveryBoundReachesTheTarget()
    {
        var result = LabCampaign.Run(Programs.Workers(3, 3), new CampaignOptions { TargetUpperBound = 0.05, MaxRuns = 5000 });
        Assert.Equal(CampaignStopRule.TargetBound, result.StopRule);
        Assert.True(result.TargetReached);
        Assert.False(result.Failed);
        Assert.All(result.Properties, p => Assert.True(p.UpperBound <= 0.05 + 1e-12, p.Brief()));
        Assert.All(result.Properties, p => Assert.Equal(0, p.Violations));
        // No violation, four properties at α/4: the bound reaches 5 % after about 150 runs, and one run earlier it had not.
        Assert.InRange(result.Runs, 100, 250);
        double earlier = Asupersync.Lab.Campaigns.Statistics.RateConfidenceSequence.Upper(result.Runs - 1, 0, 0.05 / 4);
        Assert.True(earlier > 0.05, $"the campaign ran past the target: bound {earlier} after {result.Runs - 1} runs");
    }

    [Fact]
    public void InvariantViolated_StopsAtTheFirstViolatingRun_AndItsTraceReplays()
    {
        var dir = Path.Combine(Path.GetTempPath(), "asupersync-campaign-tests", Guid.NewGuid().ToString("n"));
        var program = Programs.LostUpdate(fixedVariant: false);
        var result = LabCampaign.Run(program, new CampaignOptions { MaxRuns = 2000, Lab = new LabOptions { TraceDirectory = dir, ProgramName = "lost-update" } });
        Assert.Equal(CampaignStopRule.Violation, result.StopRule);
        Assert.True(result.Failed);
        var v = result.FirstViolation!;
        Assert.Equal("Run", v.Property);
        Assert.Equal(v.Run + 1, result.Runs);
        Assert.Equal((ulong)v.Run, v.Seed);
        Assert.NotNull(v.TracePath);
        Assert.True(File.Exists(v.TracePath));
        var replay = LabRuntime.Replay(v.TracePath!, program);
        Assert.Contains(replay.OracleFailures, f => f.Oracle == LabOracles.Panicked);
        Assert.Contains("lost update", result.Describe(), StringComparison.Ordinal);
        // Every earlier run passed: the campaign did stop at the first violation.
        var again = LabCampaign.Run(program, new CampaignOptions { MaxRuns = (int)v.Run });
        Assert.Equal(CampaignStopRule.RunBudget, again.StopRule);
    }

    [Fact]
    public void FixedVariant_HasNoViolation_AndReportsItsBound()
    {
        var result = LabCampaign.Run(Programs.LostUpdate(fixedVariant: true), new CampaignOptions { MaxRuns = 1000 });
        Assert.Equal(CampaignStopRule.RunBudget, result.StopRule);
        Assert.Equal(1000, result.Runs);
        var run = result.Properties.Single(p => p.Name == "Run");
        Assert.Equal(0, run.Violations);
        Assert.InRange(run.UpperBound, 0.003, 0.012);
        Assert.Contains("no failure found", result.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void FlakyAboveNullRate_RejectedByEvidence_SoonAfterEnoughViolations()
    {
        var result = LabCampaign.Run(Flaky(0.3), new CampaignOptions { Properties = [CampaignProperty.OtherFailures(nullRate: 0.05)], MaxRuns = 5000 });
        Assert.Equal(CampaignStopRule.Evidence, result.StopRule);
        var p = result.Properties.Single();
        Assert.True(p.Rejected);
        Assert.True(p.EValue >= 20, p.Brief());
        // A 30 % rate against 5 % is told apart within tens of runs (the information bound is about 8).
        Assert.InRange(result.Runs, 5, 100);
        Assert.Contains("above 0.05", result.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void FlakyBelowNullRate_IsNotRejected_AndItsBoundCoversTheRate()
    {
        var result = LabCampaign.Run(Flaky(0.02), new CampaignOptions { Properties = [CampaignProperty.OtherFailures(nullRate: 0.1)], TargetUpperBound = 0.1, MaxRuns = 5000 });
        Assert.Equal(CampaignStopRule.TargetBound, result.StopRule);
        var p = result.Properties.Single();
        Assert.False(p.Rejected);
        Assert.True(p.Violations > 0);
        Assert.InRange(p.UpperBound, 0.02, 0.1);
    }

    [Fact]
    public void PredicateAndUserOracle_AreMonitored_AndOthersFallToTheCatchAll()
    {
        // The predicate fails runs that take more than a few virtual milliseconds; the user oracle fires on none.
        var slow = CampaignProperty.Predicate("Slow", r => r.VirtualTime > TimeSpan.FromMilliseconds(3), nullRate: 0.9);
        Func<Cx, Task> program = async cx =>
        {
            var t = cx.Spawn("sleeper", async cx => await cx.SleepAsync(TimeSpan.FromMilliseconds(cx.NextRandom(6))));
            await t.JoinAsync(cx);
        };
        var result = LabCampaign.Run(program, new CampaignOptions
        {
            Properties = [slow, CampaignProperty.Oracle("Never"), CampaignProperty.OtherFailures()],
            MaxRuns = 300,
            Lab = new LabOptions { Oracles = [() => new NeverOracle()] },
        });
        Assert.Equal(CampaignStopRule.RunBudget, result.StopRule);
        var s = result.Properties.Single(p => p.Name == "Slow");
        Assert.InRange(s.Violations, 80, 220); // delays 4 and 5 of 0…5: a third of the runs
        Assert.Equal(0, result.Properties.Single(p => p.Name == "Never").Violations);
    }

    [Fact]
    public void SameOptions_SameResult()
    {
        var o = new CampaignOptions { Properties = [CampaignProperty.OtherFailures(nullRate: 0.5)], MaxRuns = 400 };
        var a = LabCampaign.Run(Flaky(0.1), o);
        var b = LabCampaign.Run(Flaky(0.1), o);
        Assert.Equal(a.Properties.Single().Violations, b.Properties.Single().Violations);
        Assert.Equal(a.Properties.Single().FirstViolationRun, b.Properties.Single().FirstViolationRun);
        var c = LabCampaign.Run(Flaky(0.1), o with { FirstSeed = 1_000_000 });
        Assert.NotEqual(a.Properties.Single().FirstViolationRun, c.Properties.Single().FirstViolationRun);
    }

    [Fact]
    public void Portfolio_DrawsRandomAndPctRuns()
    {
        var strategies = new Dictionary<string, int>();
        var seen = CampaignProperty.Predicate("Seen", r =>
        {
            strategies[r.Trace.Strategy] = strategies.GetValueOrDefault(r.Trace.Strategy) + 1;
            return false;
        });
        LabCampaign.Run(Programs.Workers(3, 2), new CampaignOptions { Properties = [seen], MaxRuns = 600 });
        Assert.InRange(strategies["random"], 140, 260);
        Assert.InRange(strategies["pct"], 340, 460);
        Assert.Equal(600, strategies.Values.Sum());
    }

    [Fact]
    public void Progress_IsReportedAtTheEnd()
    {
        var seen = new List<CampaignProgress>();
        var result = LabCampaign.Run(Programs.Workers(2, 2), new CampaignOptions { MaxRuns = 50, Progress = seen.Add });
        Assert.True(seen[^1].Finished);
        Assert.Equal(50, seen[^1].Runs);
        Assert.Contains("TaskLeak 0/50", seen[^1].Describe(), StringComparison.Ordinal);
        Assert.Equal(result.Runs, seen[^1].Runs);
    }

    [Fact]
    public void LabTestCampaign_ThrowsWithTheReport_AndReplaysTheViolation()
    {
        var e = Assert.Throws<CampaignFailureException>(() => LabTest.Campaign(Programs.LostUpdate(false), new CampaignOptions { MaxRuns = 2000 }));
        Assert.Contains("FAILED", e.Message, StringComparison.Ordinal);
        Assert.Contains("the run reproduces", e.Message, StringComparison.Ordinal);
        Assert.Equal(nameof(LabTestCampaign_ThrowsWithTheReport_AndReplaysTheViolation), e.Result.Plan.ProgramName);
    }

    [Fact]
    public void LabTestCampaign_TargetNotReached_Throws()
    {
        var e = Assert.Throws<CampaignFailureException>(() => LabTest.Campaign(Programs.Workers(2, 2), new CampaignOptions { TargetUpperBound = 0.001, MaxRuns = 200 }));
        Assert.Contains("not established", e.Message, StringComparison.Ordinal);
        var ok = LabTest.Campaign(Programs.Workers(2, 2), new CampaignOptions { TargetUpperBound = 0.05, MaxRuns = 1000 });
        Assert.True(ok.TargetReached);
    }

    [Fact]
    public void BadOptions_AreRejectedClearly()
    {
        var p = Programs.Workers(1, 1);
        Assert.Throws<ArgumentException>(() => LabCampaign.Run(p, new CampaignOptions { Alpha = 0 }));
        Assert.Throws<ArgumentException>(() => LabCampaign.Run(p, new CampaignOptions { Properties = [] }));
        Assert.Throws<ArgumentException>(() => LabCampaign.Run(p, new CampaignOptions { Properties = [CampaignProperty.TaskLeak, CampaignProperty.TaskLeak] }));
        Assert.Throws<ArgumentException>(() => LabCampaign.Run(p, new CampaignOptions { Shard = new CampaignShard(2, 2) }));
        Assert.Throws<ArgumentException>(() => LabCampaign.Run(p, new CampaignOptions { TargetUpperBound = 1.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => CampaignProperty.OtherFailures(nullRate: 1));
    }

    private sealed class NeverOracle : LabOracle
    {
        public override string Name => "Never";
    }
}
