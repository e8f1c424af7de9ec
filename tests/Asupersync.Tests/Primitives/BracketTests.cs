using Asupersync.Lab;
using Asupersync.Lab.Exploration;
using Asupersync.Tests.Sync;

namespace Asupersync.Tests.Primitives;

/// <summary>Bracket: the release runs exactly once after every successful acquire, masked, on every ending.</summary>
public class BracketTests
{
    private static readonly ExploreOptions Bounded = new() { MaxSchedules = 300, MaxWallTime = TimeSpan.FromSeconds(8), StopOnFirstFailure = true };

    private sealed class Pool
    {
        public int Taken, Released, ReleaseFinished;
    }

    private static Task<int> Acquire(Cx cx, Pool p)
    {
        p.Taken++;
        return Task.FromResult(p.Taken);
    }

    private static Func<Cx, int, Task> Release(Pool p) => async (cx, _) =>
    {
        p.Released++;
        await cx.SleepAsync(TimeSpan.FromMilliseconds(1)); // a release that waits (flush, goodbye)
        p.ReleaseFinished++;
    };

    [Fact]
    public void Release_RunsOnceOnEveryEnding_Ok_Err_Panic_Cancel() => LabTest.ForSeeds(30, async cx =>
    {
        var p = new Pool();
        var ok = await cx.RegionAsync("ok", cx => cx.BracketAsync(cx => Acquire(cx, p), (cx, r) => Task.FromResult(r * 10), Release(p)));
        Assert.Equal(10, ok.Value);
        var err = await cx.RegionAsync("err", cx => cx.BracketAsync<int, int>(cx => Acquire(cx, p), (cx, r) => throw new TaskErrorException("bad"), Release(p)));
        Assert.True(err.IsErr);
        var panic = await cx.RegionAsync("panic", cx => cx.BracketAsync<int, int>(cx => Acquire(cx, p), (cx, r) => throw new InvalidOperationException("boom"), Release(p)));
        Assert.True(panic.IsPanicked);
        var user = cx.Spawn("cancelled", cx => cx.BracketAsync(cx => Acquire(cx, p), async (cx, r) => { await Rt.Forever(cx); return r; }, Release(p)));
        await Rt.Until(cx, () => p.Taken == 4);
        user.Cancel();
        Assert.True((await user.JoinAsync(cx)).IsCancelled);
        Assert.Equal(4, p.Released);
        Assert.Equal(4, p.ReleaseFinished); // every release ran to its end, also the cancelled one's
    });

    private static async Task CancelAnywhere(Cx cx)
    {
        var p = new Pool();
        var t = cx.Spawn("user", cx => cx.BracketAsync(
            async cx => { await cx.YieldAsync(); return await Acquire(cx, p); },
            async (cx, r) => { await cx.YieldAsync(); await cx.YieldAsync(); },
            Release(p)));
        await cx.YieldAsync();
        t.Cancel();
        await t.JoinAsync(cx);
        Assert.Equal(p.Taken, p.Released);        // released iff acquired
        Assert.Equal(p.Released, p.ReleaseFinished); // and never cut short by the cancel
    }

    [Fact]
    public void CancelAtAnyPoint_ReleasedIffAcquired_Seeds() => LabTest.ForSeeds(200, CancelAnywhere);

    [Fact]
    public void CancelAtAnyPoint_ReleasedIffAcquired_Explored() => LabTest.Explore(CancelAnywhere, Bounded);

    [Fact]
    public void Release_IsMasked_WhenACancelIsPendingButUnseen() => LabTest.ForSeeds(10, async cx =>
    {
        var p = new Pool();
        var o = await cx.RegionAsync("self-cancel", cx => cx.BracketAsync(cx => Acquire(cx, p), (cx, r) =>
        {
            cx.CancelRegion("cancel lands during the use"); // requested, not yet seen: no checkpoint follows
            return Task.CompletedTask;
        }, Release(p)));
        Assert.True(o.IsCancelled);
        Assert.Equal(1, p.ReleaseFinished); // the release's sleep did not raise the pending cancel
    });

    [Fact]
    public void AcquireCancelled_ReleasesNothing() => LabTest.ForSeeds(10, async cx =>
    {
        var p = new Pool();
        var t = cx.Spawn("user", cx => cx.BracketAsync<int, int>(async cx => { await Rt.Forever(cx); return 1; }, (cx, r) => Task.FromResult(r), Release(p)));
        await cx.WaitStartedAsync(t);
        t.Cancel();
        Assert.True((await t.JoinAsync(cx)).IsCancelled);
        Assert.Equal(0, p.Released);
    });

    [Fact]
    public void FailingRelease_IsNeverHidden() => LabTest.ForSeeds(5, async cx =>
    {
        Func<Cx, int, Task> badRelease = (cx, r) => throw new InvalidOperationException("release failed");
        var both = await cx.RegionAsync("both", cx => cx.BracketAsync<int, int>(cx => Task.FromResult(1), (cx, r) => throw new TaskErrorException("use failed"), badRelease));
        Assert.True(both.IsPanicked);
        var agg = Assert.IsType<AggregateException>(both.Exception);
        Assert.IsType<TaskErrorException>(agg.InnerExceptions[0]);
        Assert.Equal("release failed", agg.InnerExceptions[1].Message);
        var onlyRelease = await cx.RegionAsync("release", cx => cx.BracketAsync(cx => Task.FromResult(1), (cx, r) => Task.FromResult(2), badRelease));
        Assert.True(onlyRelease.IsPanicked);
        Assert.Equal("release failed", onlyRelease.Exception!.Message);
    });

    [Fact]
    public async Task ReleaseCutByTheCleanupBudget_EndsCancelled_NotPanicked()
    {
        // Production runtime: the Lab's BudgetOverrun oracle would (rightly) fail a run whose release overruns.
        bool releaseStarted = false;
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var o = await rt.RunAsync(async cx =>
        {
            var t = cx.Spawn("user", cx => cx.BracketAsync(cx => Task.FromResult(1), async (cx, r) => { await Rt.Forever(cx); return r; }, async (cx, r) =>
            {
                releaseStarted = true;
                await Rt.Forever(cx); // a release that hangs: the cleanup budget cuts it
            }));
            await Rt.UntilParked(cx, t);
            t.Cancel(Budget.Timeout(TimeSpan.FromMilliseconds(20)));
            return await t.JoinAsync(cx);
        }).WaitAsync(Rt.HangGuard);
        Assert.True(releaseStarted);
        Assert.True(o.Value.IsCancelled, o.Value.ToString());
        Assert.True(rt.Diagnostics.BudgetOverruns >= 1); // and the overrun is reported by name
    }

    [Fact]
    public async Task ProductionRuntime_ManyCancelledBrackets_ReleasedIffAcquired()
    {
        var o = await Rt.Run(async cx =>
        {
            int taken = 0, released = 0;
            for (int round = 0; round < 200; round++)
            {
                var t = cx.Spawn("user", cx => cx.BracketAsync(
                    async cx => { await cx.YieldAsync(); Interlocked.Increment(ref taken); return 1; },
                    async (cx, r) => { for (int i = 0; i < round % 4; i++) await cx.YieldAsync(); },
                    async (cx, r) => { await cx.YieldAsync(); Interlocked.Increment(ref released); }));
                for (int i = 0; i < round % 3; i++) await cx.YieldAsync();
                t.Cancel();
                await t.JoinAsync(cx);
                Assert.Equal(Volatile.Read(ref taken), Volatile.Read(ref released));
            }
        });
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task NullArguments_AreRejected()
    {
        var o = await Rt.Run(async cx =>
        {
            await Assert.ThrowsAsync<ArgumentNullException>(() => cx.BracketAsync<int, int>(null!, (cx, r) => Task.FromResult(r), (cx, r) => Task.CompletedTask));
            await Assert.ThrowsAsync<ArgumentNullException>(() => cx.BracketAsync<int, int>(cx => Task.FromResult(1), null!, (cx, r) => Task.CompletedTask));
            await Assert.ThrowsAsync<ArgumentNullException>(() => cx.BracketAsync<int, int>(cx => Task.FromResult(1), (cx, r) => Task.FromResult(r), null!));
        });
        Assert.True(o.IsOk, o.ToString());
    }
}
