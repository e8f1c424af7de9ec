namespace Asupersync.Tests.Sync;

using Asupersync.Sync;

public class SemaphoreTests
{
    [Fact]
    public Task Semaphore_BoundsConcurrency() => Rt.Ok(async cx =>
    {
        var sem = new AsyncSemaphore(3);
        int inside = 0, max = 0;
        await cx.RegionAsync("pool", async cx =>
        {
            for (int t = 0; t < 10; t++)
            {
                _ = cx.Spawn($"w{t}", async cx =>
                {
                    for (int i = 0; i < 50; i++)
                    {
                        using (await sem.AcquireAsync(cx))
                        {
                            int now = Interlocked.Increment(ref inside);
                            InterlockedMax(ref max, now);
                            await cx.YieldAsync();
                            Interlocked.Decrement(ref inside);
                        }
                    }
                });
            }
            await Task.CompletedTask;
        });
        Assert.True(max <= 3, $"max {max}");
        Assert.Equal(3, sem.Available);
    });

    private static void InterlockedMax(ref int target, int value)
    {
        int cur;
        while ((cur = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, cur) != cur) { }
    }

    [Fact]
    public Task LargeRequestAtHead_IsNotOvertaken() => Rt.Ok(async cx =>
    {
        var sem = new AsyncSemaphore(2);
        var p = await sem.AcquireAsync(cx, 2);
        var order = new List<string>();
        var big = cx.Spawn("big", async cx => { using (await sem.AcquireAsync(cx, 2)) order.Add("big"); });
        await Rt.Until(cx, () => sem.WaitingCount == 1);
        var small = cx.Spawn("small", async cx => { using (await sem.AcquireAsync(cx, 1)) order.Add("small"); });
        await Rt.Until(cx, () => sem.WaitingCount == 2);
        p.Release();
        await big.JoinAsync(cx);
        await small.JoinAsync(cx);
        Assert.Equal(["big", "small"], order);
        Assert.Equal(2, sem.Available);
    });

    [Fact]
    public Task CancelledAcquire_TakesNothing_AndUnblocksSmallerRequestsBehindIt() => Rt.Ok(async cx =>
    {
        var sem = new AsyncSemaphore(2);
        var held = await sem.AcquireAsync(cx, 1);
        var big = cx.Spawn("big", async cx => { using (await sem.AcquireAsync(cx, 2)) { } });
        await Rt.Until(cx, () => sem.WaitingCount == 1);
        var small = cx.Spawn("small", async cx => { using (await sem.AcquireAsync(cx, 1)) { } });
        await Rt.Until(cx, () => sem.WaitingCount == 2);
        big.Cancel();
        Assert.True((await big.JoinAsync(cx)).IsCancelled);
        Assert.True((await small.JoinAsync(cx)).IsOk); // served once the head left
        held.Dispose();
        Assert.Equal(2, sem.Available);
    });

    [Fact]
    public async Task ForgottenPermit_IsReportedAsLeak_AndReturned()
    {
        var sem = new AsyncSemaphore(1);
        var o = await Rt.Run(async cx =>
        {
            var inner = await cx.RegionAsync("leaky", async cx =>
            {
                var p = await sem.AcquireAsync(cx);
                Assert.Equal(ObligationKind.SemaphorePermit, p.Obligation.Kind);
            });
            Assert.True(inner.IsErr, inner.ToString());
            Assert.Equal(1, sem.Available);
        });
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public Task PermitOfCancelledHolder_IsAborted_AndReturned() => Rt.Ok(async cx =>
    {
        var sem = new AsyncSemaphore(1);
        bool holding = false;
        var h = cx.Spawn("holder", async cx =>
        {
            var p = await sem.AcquireAsync(cx);
            holding = true;
            await Rt.Forever(cx);
            p.Release();
        });
        await Rt.Until(cx, () => Volatile.Read(ref holding));
        Assert.Equal(0, sem.Available);
        h.Cancel();
        Assert.True((await h.JoinAsync(cx)).IsCancelled);
        Assert.Equal(1, sem.Available);
    });

    [Fact]
    public Task Stress_CancelledAcquires_NeverLeakOrStealPermits() => Rt.Ok(async cx =>
    {
        var sem = new AsyncSemaphore(2);
        int inside = 0, violations = 0;
        await cx.RegionAsync("stress", async cx =>
        {
            for (int t = 0; t < 4; t++)
            {
                _ = cx.Spawn($"w{t}", async cx =>
                {
                    for (int i = 0; i < 250; i++)
                    {
                        var h = cx.Spawn("acq", async cx =>
                        {
                            using (await sem.AcquireAsync(cx))
                            {
                                if (Interlocked.Increment(ref inside) > 2) Interlocked.Increment(ref violations);
                                Interlocked.Decrement(ref inside);
                            }
                        });
                        if (i % 2 == 1) h.Cancel();
                        await h.JoinAsync(cx);
                    }
                });
            }
            await Task.CompletedTask;
        });
        Assert.Equal(0, violations);
        Assert.Equal(2, sem.Available);
        Assert.Equal(0, sem.WaitingCount);
    });
}
