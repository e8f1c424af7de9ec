using Asupersync.Tests.Sync;

namespace Asupersync.Tests.Combinators;

public class CombinatorTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public Task Race_ReturnsWinner_AndDrainsLoserBeforeReturning() => Rt.Ok(async cx =>
    {
        bool loserFinallyRan = false;
        CancelReason? loserReason = null;
        var o = await cx.RaceAsync<int>(
            async cx => { await cx.SleepAsync(Ms); return 1; },
            async cx =>
            {
                try { await Rt.Forever(cx); return 2; }
                finally
                {
                    loserReason = cx.CancelReason;
                    await cx.SleepAsync(3 * Ms); // drain takes a while; race must wait for it
                    loserFinallyRan = true;
                }
            });
        Assert.True(loserFinallyRan);
        Assert.Equal(CancelKind.RaceLost, loserReason?.Kind);
        Assert.Equal(1, o.Value);
    });

    [Fact]
    public Task Race_LoserPanickingWhileDraining_MakesRacePanicked() => Rt.Ok(async cx =>
    {
        var o = await cx.RaceAsync<int>(
            async cx => { await cx.YieldAsync(); return 1; },
            async cx =>
            {
                try { await Rt.Forever(cx); return 2; }
                finally { throw new InvalidOperationException("boom in cleanup"); }
            });
        Assert.True(o.IsPanicked, o.ToString());
    });

    [Fact]
    public Task Race_WinnerErr_IsTheOutcome_LoserErrIsIgnored() => Rt.Ok(async cx =>
    {
        var o = await cx.RaceAsync<int>(
            async cx => { await cx.YieldAsync(); throw new TaskErrorException("first failed"); },
            async cx =>
            {
                try { await Rt.Forever(cx); return 2; }
                catch (CancelledException) { throw new TaskErrorException("loser error is less severe than RaceLost"); }
            });
        Assert.True(o.IsErr);
        Assert.Equal("first failed", o.Error!.Message);
    });

    [Fact]
    public Task Timeout_CancelsAndAwaitsChild_ReportsTimedOut() => Rt.Ok(async cx =>
    {
        bool childFinallyRan = false;
        var o = await cx.TimeoutAsync(2 * Ms, async cx =>
        {
            try { await Rt.Forever(cx); return 1; }
            finally
            {
                await cx.SleepAsync(2 * Ms);
                childFinallyRan = true;
            }
        });
        Assert.True(childFinallyRan);
        Assert.True(o.IsTimedOut(), o.ToString());
    });

    [Fact]
    public Task Timeout_FastBody_ReturnsItsValue() => Rt.Ok(async cx =>
    {
        var o = await cx.TimeoutAsync(TimeSpan.FromSeconds(10), async cx => { await cx.YieldAsync(); return 7; });
        Assert.Equal(7, o.Value);
    });

    [Fact]
    public Task Timeout_OutsideCancel_IsCancelledWithOutsideReason_NotTimedOut() => Rt.Ok(async cx =>
    {
        Outcome<int> seen = default;
        bool started = false;
        var caller = cx.Spawn("caller", async cx =>
        {
            seen = await cx.TimeoutAsync(TimeSpan.FromSeconds(10), async cx => { started = true; await Rt.Forever(cx); return 1; });
        });
        await Rt.Until(cx, () => Volatile.Read(ref started));
        caller.Cancel(message: "outside");
        await caller.JoinAsync(cx);
        Assert.True(seen.IsCancelled, seen.ToString());
        Assert.False(seen.IsTimedOut());
        Assert.Equal(CancelKind.User, seen.CancelReason!.Kind);
        Assert.Equal("outside", seen.CancelReason.Message);
    });

    [Fact]
    public Task Join_WaitsForBoth_AndAggregatesByLattice() => Rt.Ok(async cx =>
    {
        var ok = await cx.JoinAsync<int, string>(async cx => { await cx.YieldAsync(); return 1; }, async cx => { await cx.YieldAsync(); return "a"; });
        Assert.Equal((1, "a"), ok.Value);
        bool slowFinished = false;
        var bad = await cx.JoinAsync<int, int>(
            async cx => { await cx.YieldAsync(); throw new TaskErrorException("e"); },
            async cx => { await cx.SleepAsync(3 * Ms); slowFinished = true; return 2; });
        Assert.True(bad.IsErr);
        Assert.True(slowFinished); // join does not cancel the sibling
        var all = await cx.JoinAllAsync<int>([c => Task.FromResult(1), async c => { await c.YieldAsync(); throw new InvalidOperationException("p"); }, c => Task.FromResult(3)]);
        Assert.True(all.IsPanicked);
        var fine = await cx.JoinAllAsync<int>([c => Task.FromResult(1), c => Task.FromResult(2)]);
        Assert.Equal([1, 2], fine.Value);
    });

    [Fact]
    public Task Stress_RaceNeverReturnsWhileALoserRuns() => Rt.Ok(async cx =>
    {
        for (int i = 0; i < 200; i++)
        {
            int running = 0;
            var o = await cx.RaceAllAsync<int>([.. Enumerable.Range(0, 3).Select<int, Func<Cx, Task<int>>>(k => async cx =>
            {
                Interlocked.Increment(ref running);
                try
                {
                    for (int s = 0; s < k + (i % 3); s++) await cx.YieldAsync();
                    return k;
                }
                finally { Interlocked.Decrement(ref running); }
            })]);
            Assert.Equal(0, Volatile.Read(ref running));
            Assert.True(o.IsOk || o.IsCancelled, o.ToString());
        }
    });

    [Fact]
    public Task CombinatorInCleanupOfCancelledTask_RunsWithinTheCleanupBudget() => Rt.Ok(async cx =>
    {
        Outcome<int> inCleanup = default;
        bool started = false;
        var h = cx.Spawn("t", async cx =>
        {
            try
            {
                started = true;
                await Rt.Forever(cx);
            }
            finally
            {
                inCleanup = await cx.TimeoutAsync(TimeSpan.FromSeconds(1), async cx => { await cx.YieldAsync(); return 5; });
            }
        });
        await Rt.Until(cx, () => Volatile.Read(ref started));
        h.Cancel(message: "stop");
        Assert.True((await h.JoinAsync(cx)).IsCancelled);
        // Cleanup code keeps working: the combinator ran (bounded by the task's cleanup deadline), no hang.
        Assert.True(inCleanup.IsOk, inCleanup.ToString());
        Assert.Equal(5, inCleanup.Value);
    });
}
