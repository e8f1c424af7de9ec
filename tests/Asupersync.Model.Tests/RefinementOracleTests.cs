using Asupersync.Lab;
using Asupersync.Model;

namespace Asupersync.Model.Tests;

/// <summary>The refinement oracle accepts every event of correct Lab runs (across seeds) and fails a run at the first event the model rejects.</summary>
public class RefinementOracleTests
{
    private static readonly LabOptions Checked = new() { CheckRefinement = true };

    /// <summary>Regions, a cancel with strengthening, a drain that awaits, finalizers, masks, obligations, a race, a timeout and fail-fast.</summary>
    internal static async Task RichProgram(Cx cx)
    {
        await cx.RegionAsync("outer", async cx =>
        {
            cx.Defer(() => { });
            cx.Defer(async cx => await cx.YieldAsync());
            var committer = cx.Spawn("committer", async cx =>
            {
                using var ob = cx.Reserve(ObligationKind.SendPermit, "slot");
                await cx.YieldAsync();
                ob.Commit();
            });
            var sleeper = cx.Spawn("sleeper", async cx =>
            {
                using var ob = cx.Reserve(ObligationKind.Lease, "lease");
                try { await cx.SleepAsync(TimeSpan.FromMinutes(5)); }
                finally { await cx.SleepAsync(TimeSpan.FromMilliseconds(10)); }
            }, Budget.Timeout(TimeSpan.FromSeconds(30)));
            var masked = cx.Spawn("masked", async cx =>
            {
                using (cx.Mask())
                {
                    await cx.YieldAsync();
                    await cx.YieldAsync();
                }
                await cx.SleepAsync(TimeSpan.FromSeconds(1));
            });
            await cx.RegionAsync("inner", async cx =>
            {
                _ = cx.Spawn("timed", async cx => await cx.SleepAsync(TimeSpan.FromSeconds(1)), Budget.Timeout(TimeSpan.FromMilliseconds(500)));
                await cx.YieldAsync();
            }, new RegionOptions { Budget = Budget.Timeout(TimeSpan.FromSeconds(10)) });
            _ = await cx.RaceAsync(async cx => { await cx.YieldAsync(); return 1; }, async cx => { await cx.SleepAsync(TimeSpan.FromSeconds(1)); return 2; });
            _ = await cx.TimeoutAsync(TimeSpan.FromMilliseconds(100), async cx => { await cx.SleepAsync(TimeSpan.FromSeconds(5)); return 0; });
            masked.Cancel();
            await committer.JoinAsync(cx);
            sleeper.Cancel(Budget.Timeout(TimeSpan.FromSeconds(1)));
            sleeper.Cancel(new CancelReason(CancelKind.Shutdown, "stronger"));
            await sleeper.JoinAsync(cx);
            await masked.JoinAsync(cx);
        });
        // Fail-fast: a failing task cancels its sibling; the region ends Err.
        _ = await cx.RegionAsync("failfast", async cx =>
        {
            _ = cx.Spawn("waits", async cx => await cx.SleepAsync(TimeSpan.FromMinutes(1)));
            _ = cx.Spawn("fails", async cx =>
            {
                await cx.YieldAsync();
                throw new TaskErrorException("boom");
            });
            await cx.SleepAsync(TimeSpan.FromMinutes(2));
        });
    }

    [Fact]
    public void RichProgram_IsAStepOfTheModel_AtEveryEvent_AcrossSeeds()
    {
        for (ulong seed = 0; seed < 40; seed++)
        {
            var r = LabRuntime.Run(seed, RichProgram, Checked);
            Assert.True(r.Passed, r.Describe());
            var kinds = r.Trace.Events.Select(e => e.Kind).ToHashSet();
            foreach (var k in new[] { LabEventKind.CancelAcknowledged, LabEventKind.FinalizerRun, LabEventKind.MaskEntered, LabEventKind.MaskExited, LabEventKind.Obligation, LabEventKind.TimerFired })
                Assert.Contains(k, kinds);
        }
    }

    [Fact]
    public void RefinementIsOptIn_UntilSwitchedOn()
    {
        // The flag is what adds the oracle: a run without it has no model to diverge from.
        Assert.False(new LabOptions().CheckRefinement);
    }

    [Fact]
    public void Oracle_FailsTheRun_AtTheFirstDivergentEvent_WithTheRuleAndTheModelState()
    {
        var failures = new List<LabFailure>();
        int step = 0;
        var cx = new LabOracleContext(0, () => step, id => $"#{id}", (name, msg, objs) => failures.Add(new LabFailure(name, msg, step, objs)));
        var oracle = new RefinementOracle(new ModelOptions());
        LabEvent E(LabEventKind kind, long task = 0, long obj = 0, long aux = 0, long extra = -1, int code = 0) => new(step, kind, task, obj, aux, extra, code, TimeSpan.Zero, null);
        var events = new[]
        {
            E(LabEventKind.RegionOpened, obj: 1),
            E(LabEventKind.Spawned, task: 2, obj: 1),
            E(LabEventKind.Spawned, task: 3, obj: 1),
            E(LabEventKind.Step, task: 2),
            E(LabEventKind.Completed, task: 2, obj: 1, code: (int)OutcomeKind.Ok),
            // Task 3 is still live: the region may not finalize, let alone close.
            E(LabEventKind.RegionState, obj: 1, code: (int)RegionState.Finalizing),
            E(LabEventKind.RegionState, obj: 1, code: (int)RegionState.Closed, extra: 0),
        };
        foreach (var e in events)
        {
            step++;
            oracle.OnEvent(e, cx);
        }
        oracle.OnRunEnd(cx);
        var f = Assert.Single(failures);
        Assert.Equal(LabOracles.Refinement, f.Oracle);
        Assert.Equal(6, f.Step);
        Assert.Contains("RegionFinalize", f.Message);
        Assert.Contains("task 3", f.Message);
    }
}
