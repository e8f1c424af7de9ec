using Asupersync.Lab;
using Asupersync.Tests.Sync;

namespace Asupersync.Tests.Combinators;

/// <summary>
/// Issue 11: races, timeouts and regions start their first step inline in production (the caller is about to wait
/// for it), and the combinators run on the caller's task. These pin the observable consequences, and that every
/// semantic (losers drained, the cancel reported with the caller's reason) holds on both drivers.
/// </summary>
public class InlineStartTests
{
    [Fact]
    public Task Race_FirstBranchCompletesSynchronously_TheOtherNeverStarts() => Rt.Ok(async cx =>
    {
        bool secondStarted = false;
        var o = await cx.RaceAsync(static cx => Task.FromResult(1), cx =>
        {
            secondStarted = true;
            return Task.FromResult(2);
        });
        Assert.Equal(1, o.Value);
        Assert.False(secondStarted); // it never started, so there was nothing to cancel or drain
    });

    [Fact]
    public Task Race_SecondBranchWinsInline_FirstIsCancelledAndDrained() => Rt.Ok(async cx =>
    {
        CancelReason? firstSaw = null;
        bool firstFinally = false;
        var o = await cx.RaceAsync<int>(async cx =>
        {
            try
            {
                await cx.SleepAsync(TimeSpan.FromHours(1));
                return 1;
            }
            finally
            {
                firstSaw = cx.CancelReason;
                await cx.YieldAsync(); // the drain may await; the race waits for it
                firstFinally = true;
            }
        }, static cx => Task.FromResult(2));
        Assert.Equal(2, o.Value);
        Assert.True(firstFinally);
        Assert.Equal(CancelKind.RaceLost, firstSaw?.Kind);
    });

    [Fact]
    public Task RegionAsync_SynchronousBody_ClosesBeforeTheCallReturns() => Rt.Ok(async cx =>
    {
        var pending = cx.RegionAsync("sync", static cx => Task.FromResult(5));
        Assert.True(pending.IsCompleted); // no scheduling round trip for a body that never suspends
        Assert.Equal(5, (await pending).Value);
    });

    [Fact]
    public Task Race_ManyRounds_NeverReturnsWhileABranchRuns_AndAllocatesLittle() => Rt.Ok(async cx =>
    {
        for (int i = 0; i < 50; i++) await cx.RaceAsync(static cx => Task.FromResult(1), static cx => Task.FromResult(2)); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        const int Rounds = 200;
        long sum = 0;
        for (int i = 0; i < Rounds; i++) sum += (await cx.RaceAsync(static cx => Task.FromResult(1), static cx => Task.FromResult(2))).Value;
        long perRace = (GC.GetAllocatedBytesForCurrentThread() - before) / Rounds;
        Assert.Equal(Rounds, sum);
        // Everything ran on this thread (inline), so the count is this race's own. It was 4.9 KB with a body task,
        // a channel and three tasks per race; the bound leaves room for the runtime's own growth, not for that.
        Assert.True(perRace <= 1200, $"a race of two completed branches allocated {perRace} B");
    });

    [Fact]
    public void Lab_RaceOfCompletedBranches_ExploresBothWinners_AndDrainsEveryLoser()
    {
        var winners = new HashSet<int>();
        for (ulong seed = 1; seed <= 40; seed++)
        {
            int started = 0, finished = 0, winner = 0;
            var r = LabRuntime.Run(seed, async cx =>
            {
                Func<Cx, Task<int>> branch(int v) => async cx =>
                {
                    started++;
                    try
                    {
                        await cx.YieldAsync();
                        return v;
                    }
                    finally { finished++; }
                };
                var o = await cx.RaceAsync(branch(1), branch(2));
                Assert.Equal(started, finished); // never returns while a branch runs
                winner = o.Value;
            });
            Assert.True(r.Passed, r.Describe());
            winners.Add(winner);
        }
        Assert.Equal(new[] { 1, 2 }, winners.Order()); // the Lab still chooses the order: both winners are seen
    }

    [Fact]
    public void Lab_OutsideCancelDuringRace_IsReportedWithTheCallersReason_AndRaisedOnceInTheCaller()
    {
        for (ulong seed = 1; seed <= 30; seed++)
        {
            Outcome<int> seen = default;
            int raisedInCaller = 0;
            var r = LabRuntime.Run(seed, async cx =>
            {
                var caller = cx.Spawn("caller", async cx =>
                {
                    try
                    {
                        seen = await cx.RaceAsync<int>(
                            async cx => { await cx.SleepAsync(TimeSpan.FromHours(1)); return 1; },
                            async cx => { await cx.SleepAsync(TimeSpan.FromHours(1)); return 2; });
                        await cx.YieldAsync(); // the caller's next checkpoint raises the cancel, once
                    }
                    catch (CancelledException)
                    {
                        raisedInCaller++;
                        await cx.YieldAsync(); // draining: does not raise again
                    }
                });
                await cx.SleepAsync(TimeSpan.FromMilliseconds(5));
                caller.Cancel(message: "outside");
                Assert.True((await caller.JoinAsync(cx)).IsCancelled);
            });
            Assert.True(r.Passed, r.Describe());
            Assert.True(seen.IsCancelled, seen.ToString());
            Assert.Equal("outside", seen.CancelReason!.Message);
            Assert.Equal(1, raisedInCaller);
        }
    }
}
