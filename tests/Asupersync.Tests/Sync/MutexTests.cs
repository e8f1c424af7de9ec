namespace Asupersync.Tests.Sync;

using Asupersync.Sync;

public class MutexTests
{
    [Fact]
    public Task Mutex_IsExclusive_UnderContention() => Rt.Ok(async cx =>
    {
        var m = new AsyncMutex();
        int inside = 0, max = 0, counter = 0;
        await cx.RegionAsync("contention", async cx =>
        {
            for (int t = 0; t < 8; t++)
            {
                _ = cx.Spawn($"w{t}", async cx =>
                {
                    for (int i = 0; i < 200; i++)
                    {
                        using (await m.LockAsync(cx))
                        {
                            int now = Interlocked.Increment(ref inside);
                            max = Math.Max(max, now);
                            counter++;
                            if (i % 16 == 0) await cx.YieldAsync();
                            Interlocked.Decrement(ref inside);
                        }
                    }
                });
            }
            await Task.CompletedTask;
        });
        Assert.Equal(1, max);
        Assert.Equal(8 * 200, counter);
        Assert.False(m.IsLocked);
    });

    [Fact]
    public Task Mutex_ServesWaitersInArrivalOrder() => Rt.Ok(async cx =>
    {
        var m = new AsyncMutex();
        var order = new List<int>();
        var g = await m.LockAsync(cx);
        var handles = new List<TaskHandle<Unit>>();
        for (int i = 0; i < 5; i++)
        {
            int id = i;
            handles.Add(cx.Spawn($"w{i}", async cx =>
            {
                using (await m.LockAsync(cx)) order.Add(id);
            }));
            await Rt.Until(cx, () => m.WaitingCount == id + 1); // enqueue strictly one after another
        }
        Assert.False(m.TryLock(out _)); // no barging past the queue
        g.Dispose();
        g.Dispose(); // idempotent
        foreach (var h in handles) await h.JoinAsync(cx);
        Assert.Equal([0, 1, 2, 3, 4], order);
    });

    [Fact]
    public Task CancelledLockWait_DoesNotTakeTheLock_AndNextWaiterGetsIt() => Rt.Ok(async cx =>
    {
        var m = new AsyncMutex();
        var g = await m.LockAsync(cx);
        bool cancelledGotLock = false;
        var first = cx.Spawn("cancelled", async cx =>
        {
            using (await m.LockAsync(cx)) cancelledGotLock = true;
        });
        await Rt.Until(cx, () => m.WaitingCount == 1);
        bool secondGotLock = false;
        var second = cx.Spawn("next", async cx =>
        {
            using (await m.LockAsync(cx)) secondGotLock = true;
        });
        await Rt.Until(cx, () => m.WaitingCount == 2);
        first.Cancel();
        Assert.True((await first.JoinAsync(cx)).IsCancelled);
        Assert.Equal(1, m.WaitingCount); // no phantom waiter left behind
        g.Dispose();
        Assert.True((await second.JoinAsync(cx)).IsOk);
        Assert.True(secondGotLock);
        Assert.False(cancelledGotLock);
        Assert.False(m.IsLocked);
    });

    [Fact]
    public Task Stress_CancelsRacingWithHandOffs_NeverLoseTheLock() => Rt.Ok(async cx =>
    {
        var m = new AsyncMutex();
        int inside = 0, violations = 0;
        await cx.RegionAsync("stress", async cx =>
        {
            for (int t = 0; t < 4; t++)
            {
                _ = cx.Spawn($"w{t}", async cx =>
                {
                    for (int i = 0; i < 300; i++)
                    {
                        var h = cx.Spawn("locker", async cx =>
                        {
                            using (await m.LockAsync(cx))
                            {
                                if (Interlocked.Increment(ref inside) != 1) Interlocked.Increment(ref violations);
                                Interlocked.Decrement(ref inside);
                            }
                        });
                        if (i % 2 == 0) h.Cancel(); // lands before, during or after the hand-off
                        await h.JoinAsync(cx);
                    }
                });
            }
            await Task.CompletedTask;
        });
        Assert.Equal(0, violations);
        Assert.False(m.IsLocked); // a grant that raced with a cancel was passed on, not lost
        Assert.Equal(0, m.WaitingCount);
        Assert.True(m.TryLock(out var last));
        last.Dispose();
    });
}
