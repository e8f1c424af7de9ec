using Asupersync.Tests.Sync;

namespace Asupersync.Tests.Combinators;

public class MoreCombinatorTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public Task Select_TellsWhichBranchWon() => Rt.Ok(async cx =>
    {
        var o = await cx.SelectAllAsync<string>([async cx => { await Rt.Forever(cx); return "a"; }, async cx => { await cx.YieldAsync(); return "b"; }]);
        Assert.Equal(new Selected<string>(1, "b"), o.Value);
    });

    [Fact]
    public Task Quorum_SucceedsWithMOfN_AndDrainsTheRest() => Rt.Ok(async cx =>
    {
        int drained = 0;
        var o = await cx.QuorumAsync<int>(2, [
            async cx => { await cx.YieldAsync(); return 1; },
            async cx => { try { await Rt.Forever(cx); return 9; } finally { Interlocked.Increment(ref drained); } },
            async cx => { await cx.SleepAsync(Ms); return 3; },
        ]);
        Assert.Equal([1, 3], o.Value.Order());
        Assert.Equal(1, drained);
    });

    [Fact]
    public Task Quorum_FailsAsSoonAsUnreachable() => Rt.Ok(async cx =>
    {
        // The failing branches wait until the third has started: a branch cancelled before its first step never runs
        // its body (so its finally would not run either), and on a loaded machine the two failures can come first.
        int started = 0;
        bool drained = false;
        async Task WhenThirdStarted(Cx cx)
        {
            while (Volatile.Read(ref started) == 0) await cx.YieldAsync();
        }
        var o = await cx.QuorumAsync<int>(2, [
            async cx => { await WhenThirdStarted(cx); throw new TaskErrorException("a"); },
            async cx => { await WhenThirdStarted(cx); throw new TaskErrorException("b"); },
            async cx => { try { Volatile.Write(ref started, 1); await Rt.Forever(cx); return 1; } finally { Volatile.Write(ref drained, true); } },
        ]);
        Assert.True(o.IsErr);
        Assert.True(Volatile.Read(ref drained));
    });

    [Fact]
    public Task FirstOk_SkipsFailures() => Rt.Ok(async cx =>
    {
        var o = await cx.FirstOkAsync<int>([async cx => { await cx.YieldAsync(); throw new TaskErrorException("x"); }, async cx => { await cx.SleepAsync(2 * Ms); return 2; }]);
        Assert.Equal(2, o.Value);
        var none = await cx.FirstOkAsync<int>([c => throw new TaskErrorException("x"), c => throw new TaskErrorException("y")]);
        Assert.True(none.IsErr);
    });

    [Fact]
    public Task Hedge_FastPrimary_NeverStartsBackup_SlowPrimary_BackupWins() => Rt.Ok(async cx =>
    {
        bool backupRan = false;
        var fast = await cx.HedgeAsync(TimeSpan.FromSeconds(5), async cx => { await cx.YieldAsync(); return "primary"; }, async cx => { backupRan = true; await cx.YieldAsync(); return "backup"; });
        Assert.Equal("primary", fast.Value);
        Assert.False(backupRan);
        var slow = await cx.HedgeAsync(Ms, async cx => { await Rt.Forever(cx); return "primary"; }, async cx => { await cx.YieldAsync(); return "backup"; });
        Assert.Equal("backup", slow.Value);
    });

    [Fact]
    public Task Retry_RetriesErr_StopsOnOkOrCancel() => Rt.Ok(async cx =>
    {
        int attempts = 0;
        var o = await cx.RetryAsync(async cx =>
        {
            await cx.YieldAsync();
            if (++attempts < 3) throw new TaskErrorException("flaky");
            return attempts;
        }, new RetryPolicy { MaxAttempts = 5, InitialBackoff = Ms });
        Assert.Equal(3, o.Value);

        int panics = 0;
        var p = await cx.RetryAsync<int>(cx => { panics++; throw new InvalidOperationException("bug"); }, new RetryPolicy { MaxAttempts = 5, InitialBackoff = Ms });
        Assert.True(p.IsPanicked);
        Assert.Equal(1, panics); // panics are never retried

        int tries = 0;
        var gaveUp = await cx.RetryAsync<int>(cx => { tries++; throw new TaskErrorException("down"); }, new RetryPolicy { MaxAttempts = 3, InitialBackoff = TimeSpan.Zero });
        Assert.True(gaveUp.IsErr);
        Assert.Equal(3, tries);
    });

    [Fact]
    public async Task Retry_DoesNotSleepPastTheDeadline()
    {
        int tries = 0;
        var o = await Rt.Run(async cx =>
        {
            var inner = await cx.RegionAsync("bounded", async cx =>
                await cx.RetryAsync<int>(cx => { tries++; throw new TaskErrorException("down"); },
                    new RetryPolicy { MaxAttempts = 100, InitialBackoff = TimeSpan.FromMinutes(1) }),
                new RegionOptions { Budget = Budget.Timeout(TimeSpan.FromSeconds(30)) });
            return inner.Value;
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.True(o.Value.IsErr);
        Assert.Equal(1, tries); // the 1-minute pause would overrun the 30 s budget, so it gave up at once
    }
}
