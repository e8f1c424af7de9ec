using Asupersync.Lab;

namespace Asupersync.Tests.Sync;

using Asupersync.Sync;

/// <summary>AsyncSemaphore as a signal and as a resource: Release(n)/AddPermits, Close, Forget (production and Lab).</summary>
public class SemaphoreSignalTests
{
    [Fact]
    public Task Release_WakesWaiters_InOrder_AndReturnsPreviousCount() => Rt.Ok(async cx =>
    {
        var sem = new AsyncSemaphore(0);
        var got = new List<int>();
        await cx.RegionAsync("consumers", async cx =>
        {
            for (int i = 0; i < 3; i++)
            {
                int k = i;
                _ = cx.Spawn($"c{k}", async cx =>
                {
                    var p = await sem.AcquireAsync(cx);
                    lock (got) got.Add(k);
                    p.Forget();
                });
                await Rt.Until(cx, () => sem.WaitingCount == k + 1);
            }
            Assert.Equal(0, sem.Release(2));
            await Rt.Until(cx, () => { lock (got) return got.Count == 2; });
            lock (got) Assert.Equal([0, 1], got.Order()); // FIFO: the two oldest were served, the third still waits
            Assert.Equal(1, sem.WaitingCount);
            sem.AddPermits(1);
        });
        Assert.Equal([0, 1, 2], got.Order());
        Assert.Equal(0, sem.Available); // every permit was consumed (forgotten)
    });

    [Fact]
    public Task Forget_ConsumesPermits_DisposeAfterForgetIsHarmless() => Rt.Ok(async cx =>
    {
        var sem = new AsyncSemaphore(3);
        var p = await sem.AcquireAsync(cx, 2);
        p.Forget();
        Assert.False(p.IsHeld);
        p.Dispose();
        Assert.Equal(1, sem.Available);
        Assert.Throws<InvalidOperationException>(p.Forget);
        Assert.Equal(1, sem.Available);
        using (await sem.AcquireAsync(cx)) Assert.Equal(0, sem.Available);
        Assert.Equal(1, sem.Available);
    });

    [Fact]
    public Task Forget_ByAnotherTask_IsRefused_AndKeepsThePermit() => Rt.Ok(async cx =>
    {
        var sem = new AsyncSemaphore(1);
        var p = await sem.AcquireAsync(cx);
        Exception? refused = null;
        var other = cx.Spawn("other", cx =>
        {
            try { p.Forget(); }
            catch (InvalidOperationException e) { refused = e; }
            return Task.CompletedTask;
        });
        await other.JoinAsync(cx);
        Assert.NotNull(refused);
        Assert.True(p.IsHeld);
        p.Release();
        Assert.Equal(1, sem.Available);
    });

    [Fact]
    public Task Release_Overflow_Throws() => Rt.Ok(cx =>
    {
        var sem = new AsyncSemaphore(int.MaxValue - 1);
        Assert.Throws<SemaphoreFullException>(() => sem.Release(2));
        Assert.Equal(int.MaxValue - 1, sem.Release(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => sem.Release(0));
        return Task.CompletedTask;
    });

    [Fact]
    public Task Close_FailsCurrentAndFutureWaiters_HeldPermitsStayValid() => Rt.Ok(async cx =>
    {
        var sem = new AsyncSemaphore(1);
        var held = await sem.AcquireAsync(cx);
        var waiters = new List<TaskHandle<Exception?>>();
        for (int i = 0; i < 3; i++)
        {
            var h = cx.Spawn<Exception?>($"w{i}", async cx =>
            {
                try { using (await sem.AcquireAsync(cx)) { } }
                catch (SemaphoreClosedException e) { return e; }
                return null;
            });
            waiters.Add(h);
        }
        await Rt.Until(cx, () => sem.WaitingCount == 3);
        sem.Close();
        sem.Close(); // idempotent
        Assert.True(sem.IsClosed);
        foreach (var h in waiters)
        {
            var o = await h.JoinAsync(cx);
            Assert.True(o.IsOk, o.ToString());
            Assert.IsType<SemaphoreClosedException>(o.Value);
        }
        await Assert.ThrowsAsync<SemaphoreClosedException>(async () => await sem.AcquireAsync(cx));
        Assert.False(sem.TryAcquire(cx, out _));
        Assert.True(held.IsHeld);
        held.Release();
        Assert.Equal(1, sem.Available);
        Assert.Equal(0, sem.WaitingCount);
    });

    [Fact]
    public Task Close_RacingAcquiresAndCancels_NothingLost() => Rt.Ok(async cx =>
    {
        for (int round = 0; round < 20; round++)
        {
            var sem = new AsyncSemaphore(2);
            int ok = 0, closed = 0;
            await cx.RegionAsync("round", async cx =>
            {
                var hs = new List<TaskHandle<Unit>>();
                for (int i = 0; i < 6; i++)
                {
                    hs.Add(cx.Spawn($"w{i}", async cx =>
                    {
                        try
                        {
                            using (await sem.AcquireAsync(cx)) { Interlocked.Increment(ref ok); await cx.YieldAsync(); }
                        }
                        catch (SemaphoreClosedException) { Interlocked.Increment(ref closed); }
                    }));
                }
                await cx.YieldAsync();
                hs[5].Cancel();
                sem.Close();
                foreach (var h in hs) await h.JoinAsync(cx);
            });
            Assert.Equal(2, sem.Available);
            Assert.Equal(0, sem.WaitingCount);
            Assert.True(ok + closed <= 6);
        }
    });

    private static async Task SignalProgram(Cx cx)
    {
        var sem = new AsyncSemaphore(0);
        int consumed = 0, closed = 0;
        await cx.RegionAsync("sig", async cx =>
        {
            for (int i = 0; i < 3; i++)
            {
                _ = cx.Spawn($"c{i}", async cx =>
                {
                    try
                    {
                        var p = await sem.AcquireAsync(cx);
                        consumed++;
                        p.Forget();
                    }
                    catch (SemaphoreClosedException) { closed++; }
                });
            }
            _ = cx.Spawn("producer", async cx =>
            {
                sem.Release();
                await cx.YieldAsync();
                sem.AddPermits(1);
                await cx.YieldAsync();
                sem.Close();
            });
            await Task.CompletedTask;
        });
        if (consumed + closed != 3) throw new InvalidOperationException($"consumed {consumed} closed {closed}");
        // Two permits were added; each was either consumed for good or is still free.
        if (consumed + sem.Available != 2) throw new InvalidOperationException($"permits lost: consumed {consumed}, available {sem.Available}");
        if (sem.WaitingCount != 0) throw new InvalidOperationException("a waiter left behind");
    }

    [Fact]
    public void Lab_ReleaseForgetClose_PermitsExact_Seeds() => LabTest.ForSeeds(150, SignalProgram);
}
