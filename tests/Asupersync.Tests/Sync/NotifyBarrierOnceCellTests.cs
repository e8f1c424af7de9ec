namespace Asupersync.Tests.Sync;

using Asupersync.Sync;

public class NotifyTests
{
    [Fact]
    public Task NotifyOne_BeforeWait_IsNotLost_AndDoesNotAccumulate() => Rt.Ok(async cx =>
    {
        var n = new Notify();
        n.NotifyOne();
        n.NotifyOne();
        await n.WaitAsync(cx); // consumes the single stored permit
        var waiter = cx.Spawn("w", async cx => await n.WaitAsync(cx));
        await cx.SleepAsync(TimeSpan.FromMilliseconds(3));
        Assert.False(waiter.IsCompleted);
        n.NotifyOne();
        Assert.True((await waiter.JoinAsync(cx)).IsOk);
    });

    [Fact]
    public Task NotifyAll_WakesEveryCurrentWaiter_StoresNothing() => Rt.Ok(async cx =>
    {
        var n = new Notify();
        var ws = Enumerable.Range(0, 3).Select(i => cx.Spawn($"w{i}", async cx => await n.WaitAsync(cx))).ToList();
        await Rt.Until(cx, () => n.WaitingCount == 3);
        n.NotifyAll();
        foreach (var w in ws) Assert.True((await w.JoinAsync(cx)).IsOk);
        var late = cx.Spawn("late", async cx => await n.WaitAsync(cx));
        await cx.SleepAsync(TimeSpan.FromMilliseconds(3));
        Assert.False(late.IsCompleted);
        late.Cancel();
        Assert.True((await late.JoinAsync(cx)).IsCancelled);
    });

    [Fact]
    public Task CancelledWaiter_DoesNotSwallowNotifyOne() => Rt.Ok(async cx =>
    {
        var n = new Notify();
        var a = cx.Spawn("a", async cx => await n.WaitAsync(cx));
        await Rt.Until(cx, () => n.WaitingCount == 1);
        var b = cx.Spawn("b", async cx => await n.WaitAsync(cx));
        await Rt.Until(cx, () => n.WaitingCount == 2);
        a.Cancel();
        await a.JoinAsync(cx);
        n.NotifyOne();
        Assert.True((await b.JoinAsync(cx)).IsOk);
    });
}

public class BarrierTests
{
    [Fact]
    public Task Barrier_ReleasesRound_WithExactlyOneLeader() => Rt.Ok(async cx =>
    {
        var b = new AsyncBarrier(3);
        var results = new System.Collections.Concurrent.ConcurrentBag<BarrierResult>();
        await cx.RegionAsync("round", async cx =>
        {
            for (int i = 0; i < 6; i++) _ = cx.Spawn($"p{i}", async cx => results.Add(await b.WaitAsync(cx)));
            await Task.CompletedTask;
        });
        Assert.Equal(6, results.Count);
        Assert.Equal(2, results.Count(r => r.IsLeader));
        Assert.Equal([0L, 1L], results.Select(r => r.Generation).Distinct().Order());
    });

    [Fact]
    public Task CancelledParticipant_DoesNotCountAsArrived() => Rt.Ok(async cx =>
    {
        var b = new AsyncBarrier(2);
        var quitter = cx.Spawn("quitter", async cx => await b.WaitAsync(cx));
        await Rt.Until(cx, () => b.Arrived == 1);
        quitter.Cancel();
        await quitter.JoinAsync(cx);
        Assert.Equal(0, b.Arrived);
        var stayer = cx.Spawn("stayer", async cx => await b.WaitAsync(cx));
        await Rt.Until(cx, () => b.Arrived == 1);
        var me = await b.WaitAsync(cx);
        Assert.True(me.IsLeader);
        Assert.False((await stayer.JoinAsync(cx)).Value.IsLeader);
    });
}

public class OnceCellTests
{
    [Fact]
    public Task ConcurrentCallers_RunInitOnce() => Rt.Ok(async cx =>
    {
        var cell = new OnceCell<int>();
        int runs = 0;
        var values = new System.Collections.Concurrent.ConcurrentBag<int>();
        await cx.RegionAsync("callers", async cx =>
        {
            for (int i = 0; i < 8; i++)
                _ = cx.Spawn($"c{i}", async cx => values.Add(await cell.GetOrInitAsync(cx, async cx => { Interlocked.Increment(ref runs); await cx.SleepAsync(TimeSpan.FromMilliseconds(2)); return 42; })));
            await Task.CompletedTask;
        });
        Assert.Equal(1, runs);
        Assert.All(values, v => Assert.Equal(42, v));
        Assert.True(cell.TryGet(out var got) && got == 42);
    });

    [Fact]
    public Task FailedOrCancelledInit_LetsNextCallerRetry() => Rt.Ok(async cx =>
    {
        var cell = new OnceCell<string>();
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await cell.GetOrInitAsync(cx, cx => throw new InvalidOperationException("nope")));
        Assert.False(cell.IsInitialized);

        bool started = false;
        var slow = cx.Spawn("slow-init", async cx => await cell.GetOrInitAsync(cx, async cx => { started = true; await Rt.Forever(cx); return "never"; }));
        await Rt.Until(cx, () => Volatile.Read(ref started));
        var waiter = cx.Spawn("waiter", async cx => await cell.GetOrInitAsync(cx, cx => Task.FromResult("from waiter")));
        await cx.SleepAsync(TimeSpan.FromMilliseconds(2));
        slow.Cancel();
        Assert.True((await slow.JoinAsync(cx)).IsCancelled);
        Assert.Equal("from waiter", (await waiter.JoinAsync(cx)).Value);
        Assert.Equal("from waiter", await cell.GetOrInitAsync(cx, cx => Task.FromResult("unused")));
    });
}
