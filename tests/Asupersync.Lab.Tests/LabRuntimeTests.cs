using Asupersync.Lab;

namespace Asupersync.Lab.Tests;

public class LabRuntimeTests
{
    [Fact]
    public void Run_CompletesProgram_WithOkOutcome()
    {
        var log = new List<string>();
        var r = LabRuntime.Run(1, Programs.Workers(3, 3, log));
        Assert.True(r.Passed, r.Describe());
        Assert.True(r.Outcome!.Value.IsOk);
        Assert.Equal(9, log.Count);
        Assert.True(r.Steps > 9);
    }

    [Fact]
    public void VirtualTime_JumpsToTimers_WithoutWaiting()
    {
        TimeSpan seen = default;
        var r = LabRuntime.Run(3, async cx =>
        {
            await cx.SleepAsync(TimeSpan.FromHours(5));
            seen = cx.Now;
        });
        Assert.True(r.Passed, r.Describe());
        Assert.Equal(TimeSpan.FromHours(5), seen);
        Assert.Equal(TimeSpan.FromHours(5), r.VirtualTime);
        Assert.Contains(r.Trace.Events, e => e.Kind == LabEventKind.TimeAdvanced);
    }

    [Fact]
    public void Timers_FireInDueOrder_AndTimeoutsCancel()
    {
        var order = new List<string>();
        Outcome<Unit> slow = default;
        var r = LabRuntime.Run(5, async cx =>
        {
            var a = cx.Spawn("late", async cx => { await cx.SleepAsync(TimeSpan.FromSeconds(3)); order.Add("late"); });
            var b = cx.Spawn("early", async cx => { await cx.SleepAsync(TimeSpan.FromSeconds(1)); order.Add("early"); });
            var c = cx.Spawn("slow", async cx => await cx.SleepAsync(TimeSpan.FromSeconds(60)), Budget.Timeout(TimeSpan.FromSeconds(2)));
            await a.JoinAsync(cx);
            await b.JoinAsync(cx);
            slow = await c.JoinAsync(cx);
        });
        Assert.True(r.Passed, r.Describe());
        Assert.Equal(["early", "late"], order);
        Assert.True(slow.IsCancelled);
        Assert.Equal(CancelKind.Timeout, slow.CancelReason!.Kind);
        Assert.Equal(TimeSpan.FromSeconds(3), r.VirtualTime);
    }

    [Fact]
    public void SameSeed_GivesIdenticalTrace_AcrossManySeeds()
    {
        for (ulong seed = 0; seed < 40; seed++)
        {
            var a = LabRuntime.Run(seed, Programs.Workers(3, 4));
            var b = LabRuntime.Run(seed, Programs.Workers(3, 4));
            Assert.True(a.Trace.SameAs(b.Trace), $"seed {seed} gave two different traces");
            Assert.Equal(a.Trace.Hash, b.Trace.Hash);
        }
    }

    [Fact]
    public void DifferentSeeds_GiveDifferentSchedules()
    {
        var hashes = new HashSet<ulong>();
        for (ulong seed = 0; seed < 50; seed++) hashes.Add(LabRuntime.Run(seed, Programs.Workers(3, 4)).Trace.Hash);
        // 3 tasks × 4 yields have thousands of interleavings: 50 seeds must give (almost) 50 different ones.
        Assert.True(hashes.Count >= 45, $"only {hashes.Count} distinct traces from 50 seeds");
    }

    [Fact]
    public void NearbySeeds_AreNotShiftedCopiesOfEachOther()
    {
        // A generator where seed s+1 is seed s advanced by one draw makes the decision sequences shifted copies.
        int shifted = 0;
        for (ulong seed = 100; seed < 130; seed++)
        {
            var d0 = LabRuntime.Run(seed, Programs.Workers(3, 6)).Trace.Decisions;
            var d1 = LabRuntime.Run(seed + 1, Programs.Workers(3, 6)).Trace.Decisions;
            int n = Math.Min(d0.Count, d1.Count) - 1;
            if (d0.Skip(1).Take(n - 1).SequenceEqual(d1.Take(n - 1))) shifted++;
            if (d0.SequenceEqual(d1)) shifted++;
        }
        Assert.Equal(0, shifted);
    }

    [Fact]
    public void Entropy_IsSeeded()
    {
        ulong Draw(ulong seed)
        {
            ulong v = 0;
            LabRuntime.Run(seed, cx => { v = cx.NextRandom(); return Task.CompletedTask; });
            return v;
        }
        Assert.Equal(Draw(9), Draw(9));
        Assert.NotEqual(Draw(9), Draw(10));
    }

    [Fact]
    public void Deadlock_IsReported_WithWaitingTasksAndCycle()
    {
        var r = LabRuntime.Run(1, async cx =>
        {
            TaskHandle<Unit>? b = null;
            var a = cx.Spawn("a", async cx => { await cx.YieldAsync(); await b!.JoinAsync(cx); });
            b = cx.Spawn("b", async cx => { await cx.YieldAsync(); await a.JoinAsync(cx); });
            await a.JoinAsync(cx);
        });
        Assert.False(r.Passed);
        Assert.Null(r.Outcome);
        var f = Assert.Single(r.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
        Assert.Contains("'a'", f.Message);
        Assert.Contains("'b'", f.Message);
        Assert.Contains("Wait cycle", f.Message);
    }

    [Fact]
    public void StepLimit_StopsLivelock()
    {
        var r = LabRuntime.Run(1, async cx =>
        {
            while (true) await cx.YieldAsync();
        }, new LabOptions { MaxSteps = 500 });
        Assert.Equal(500, r.Steps);
        Assert.Contains(r.OracleFailures, f => f.Oracle == LabOracles.StepLimit);
    }

    [Fact]
    public void Cancel_Protocol_RunsInLab_WithFinalizers()
    {
        var log = new List<string>();
        var r = LabRuntime.Run(11, async cx =>
        {
            var o = await cx.RegionAsync("inner", async cx =>
            {
                cx.Defer(() => log.Add("finalizer"));
                var t = cx.Spawn("sleeper", async cx =>
                {
                    try { await cx.SleepAsync(TimeSpan.FromMinutes(1)); }
                    finally { log.Add("cleanup"); }
                });
                await cx.YieldAsync();
                cx.CancelRegion("stop");
            });
            log.Add(o.Kind.ToString());
        });
        Assert.True(r.Passed, r.Describe());
        Assert.Equal(["cleanup", "finalizer", "Cancelled"], log);
        Assert.Contains(r.Trace.Events, e => e.Kind == LabEventKind.CancelAcknowledged);
    }
}
