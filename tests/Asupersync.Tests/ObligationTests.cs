namespace Asupersync.Tests;

public class ObligationTests
{
    [Fact]
    public async Task Commit_IsFinal()
    {
        var o = await TestRuntime.RunAsync(cx =>
        {
            var ob = cx.Reserve(ObligationKind.IoOp, "write");
            Assert.Equal(ObligationState.Reserved, ob.State);
            ob.Commit();
            Assert.Equal(ObligationState.Committed, ob.State);
            Assert.Throws<InvalidOperationException>(() => ob.Commit());
            Assert.Throws<InvalidOperationException>(() => ob.Abort());
            ob.Dispose(); // harmless on a resolved obligation
            return Task.FromResult(ob.State);
        });
        Assert.Equal(ObligationState.Committed, o.Value);
    }

    [Fact]
    public async Task Dispose_AbortsUnresolved()
    {
        var o = await TestRuntime.RunAsync(cx =>
        {
            var ob = cx.Reserve(ObligationKind.Lease, "lease");
            using (ob) { }
            return Task.FromResult(ob);
        });
        Assert.Equal(ObligationState.Aborted, o.Value.State);
        Assert.NotNull(o.Value.AbortReason);
    }

    [Fact]
    public async Task LeakedObligation_IsReported_SlotFreed_RegionFails()
    {
        int slotsFreed = 0;
        ObligationState? hookState = null;
        Runtime? rt = null;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            var h = cx.Spawn("forgetful", cx =>
            {
                cx.Reserve(ObligationKind.SendPermit, "slot 1", (ob, state) => { hookState = state; Interlocked.Increment(ref slotsFreed); });
                return Task.FromResult(1); // returns Ok without committing or aborting
            });
            var joined = await h.JoinAsync(cx);
            Assert.Equal(OutcomeKind.Err, joined.Kind);
            Assert.IsType<ObligationLeakedException>(joined.Error);
        }, new RegionOptions { Policy = RegionPolicy.CollectAll }), inspect: r => rt = r);
        Assert.Equal(OutcomeKind.Err, o.Value.Kind);
        Assert.IsType<ObligationLeakedException>(o.Value.Error);
        Assert.Equal(1, slotsFreed);
        Assert.Equal(ObligationState.Leaked, hookState);
        Assert.Equal(1, rt!.Diagnostics.ObligationsLeaked);
        var d = Assert.Single(rt.Diagnostics.Recent, e => e.Kind == DiagnosticKind.ObligationLeak);
        Assert.Equal("forgetful", d.TaskName);
        Assert.Contains("slot 1", d.Message);
    }

    [Fact]
    public async Task LeakInNestedRegions_IsCountedOnce()
    {
        Runtime? rt = null;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("outer", cx => cx.RegionAsync("inner", cx =>
        {
            cx.Reserve(ObligationKind.Ack, "ack");
            return Task.CompletedTask;
        })), inspect: r => rt = r);
        Assert.Equal(1, rt!.Diagnostics.ObligationsLeaked);
        Assert.Equal(OutcomeKind.Err, o.Value.Value.Kind); // inner region outcome
    }

    [Fact]
    public async Task RecordResponse_ReportsWithoutFailing()
    {
        Runtime? rt = null;
        var o = await TestRuntime.RunAsync(cx =>
        {
            cx.Reserve(ObligationKind.Custom, "x");
            return Task.FromResult(3);
        }, new RuntimeOptions { WorkerCount = 2, LeakResponse = LeakResponse.Record }, r => rt = r);
        Assert.Equal(3, o.Value);
        Assert.Equal(1, rt!.Diagnostics.ObligationsLeaked);
    }

    [Fact]
    public async Task CancelledHolder_AbortsWithReason_NoLeak()
    {
        Obligation? held = null;
        Runtime? rt = null;
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("holder", async cx =>
            {
                held = cx.Reserve(ObligationKind.SendPermit, "slot");
                await cx.SleepAsync(TimeSpan.FromHours(1)); // cancel lands between reserve and commit
                held.Commit();
            });
            await cx.WaitStartedAsync(h);
            h.Cancel(message: "between reserve and commit");
            return await h.JoinAsync(cx);
        }, inspect: r => rt = r);
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
        Assert.Equal(ObligationState.Aborted, held!.State);
        Assert.Equal("between reserve and commit", held.AbortReason!.Message);
        Assert.Equal(0, rt!.Diagnostics.ObligationsLeaked);
    }

    [Fact]
    public async Task DrainingTask_MayStillCommit()
    {
        Obligation? held = null;
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("holder", async cx =>
            {
                held = cx.Reserve(ObligationKind.IoOp, "flush");
                try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                finally
                {
                    await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
                    held.Commit();
                }
            });
            await cx.WaitStartedAsync(h);
            h.Cancel();
            return await h.JoinAsync(cx);
        });
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
        Assert.Equal(ObligationState.Committed, held!.State);
    }

    [Fact]
    public async Task OnlyTheHolder_MayResolve()
    {
        Obligation? ob = null;
        var o = await TestRuntime.RunAsync(async cx =>
        {
            ob = cx.Reserve(ObligationKind.Custom, "mine");
            var thief = cx.Spawn("thief", cx => Task.FromResult(Assert.Throws<InvalidOperationException>(() => ob.Commit()).Message));
            var msg = await thief.ValueAsync(cx);
            Assert.Equal(ObligationState.Reserved, ob.State); // the thief changed nothing
            ob.Commit();                                      // the holder may
            return msg;
        });
        Assert.Contains("Only the holder task", o.Value);
        Assert.Contains("thief", o.Value);
        // From outside the runtime: also refused.
        var outside = Assert.Throws<InvalidOperationException>(() => ob!.Abort());
        Assert.Contains("outside any runtime task", outside.Message);
    }

    [Fact]
    public async Task MaxObligations_IsEnforced()
    {
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", cx =>
        {
            using var a = cx.Reserve(ObligationKind.Custom, "a");
            Assert.Throws<RegionLimitExceededException>(() => cx.Reserve(ObligationKind.Custom, "b"));
            a.Abort();
            using var c = cx.Reserve(ObligationKind.Custom, "c"); // room again
            c.Commit();
            return Task.CompletedTask;
        }, new RegionOptions { MaxObligations = 1 }));
        Assert.True(o.Value.IsOk);
    }

    [Fact]
    public async Task UserCodeLockingOnAnObligation_DoesNotStallTheRuntime()
    {
        // Obligation is public: a user may lock on it. The runtime must not share that monitor.
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        var reserved = new TaskCompletionSource<Obligation>(TaskCreationOptions.RunContinuationsAsynchronously);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = rt.RunAsync(async cx =>
        {
            var ob = cx.Reserve(ObligationKind.Ack, "ack");
            reserved.SetResult(ob);
            await cx.AwaitAsync(go.Task);
            ob.Commit();
            return ob.State;
        });
        var ob = await reserved.Task.WaitAsync(TimeSpan.FromSeconds(60));
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() => { lock (ob) { held.Set(); release.Wait(TimeSpan.FromSeconds(300)); } });
        holder.Start();
        held.Wait();
        try
        {
            go.SetResult();
            var o = await run.WaitAsync(TimeSpan.FromSeconds(120));   // with a shared monitor, Commit waits for the release below
            Assert.Equal(ObligationState.Committed, o.Value);
            Assert.Equal(ObligationState.Committed, ob.State);
        }
        finally
        {
            release.Set();
            holder.Join();
        }
    }
}
