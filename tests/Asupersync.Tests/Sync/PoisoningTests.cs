using Asupersync.Lab;
using Asupersync.Sync;

namespace Asupersync.Tests.Sync;

/// <summary>Issue 19 item 8: lock poisoning (Rust's semantics) for <see cref="AsyncMutex"/> and <see cref="RwLock"/>.</summary>
public class PoisoningTests
{
    private const int Seeds = 20;

    /// <summary>
    /// 'broken' updates half of a two-field state under the lock and throws (a panic); 'next' then takes the lock.
    /// Returns what 'next' saw, and 'broken's outcome.
    /// </summary>
    private static async Task<(bool WasPoisoned, bool Consistent, Outcome<Unit> Broken)> PanicThenNext(Cx cx, AsyncMutex m, Func<Exception> failure)
    {
        int a = 0, b = 0;
        // In a region of its own, so that its failure is an outcome here rather than the parent's failure.
        var outcome = await cx.RegionAsync("broken", async c => await m.WithLockAsync(c, async _ =>
        {
            a = 1;
            await c.YieldAsync();
            throw failure();
        }));
        using var g = await m.LockAsync(cx);
        return (g.WasPoisoned, a == b, outcome);
    }

    [Fact]
    public void Mutex_AHolderEndingPanicked_PoisonsIt_TheNextGuardSeesIt_UntilCleared_AcrossSeeds()
    {
        for (ulong seed = 1; seed <= Seeds; seed++)
        {
            var r = LabRuntime.Run(seed, async cx =>
            {
                var m = new AsyncMutex(poisoning: true);
                var (was, consistent, broken) = await PanicThenNext(cx, m, () => new InvalidOperationException("half-way"));
                Assert.True(broken.IsPanicked, broken.ToString());
                Assert.True(was);
                Assert.False(consistent);
                Assert.True(m.IsPoisoned);
                using (var g = await m.LockAsync(cx))
                {
                    Assert.True(g.WasPoisoned); // still poisoned: nobody cleared it
                    g.ClearPoison();
                }
                Assert.False(m.IsPoisoned);
                using (var g = await m.LockAsync(cx)) Assert.False(g.WasPoisoned);
            });
            Assert.True(r.Passed, r.Describe());
        }
    }

    [Fact]
    public void Mutex_ErrAndCancel_DoNotPoison_AcrossSeeds()
    {
        for (ulong seed = 1; seed <= Seeds; seed++)
        {
            var r = LabRuntime.Run(seed, async cx =>
            {
                var m = new AsyncMutex(poisoning: true);
                var (was, _, err) = await PanicThenNext(cx, m, () => new TaskErrorException("anticipated"));
                Assert.True(err.IsErr, err.ToString());
                Assert.False(was);

                var inside = new AsyncSemaphore(0);
                var t = cx.Spawn("cancelled", async c => await m.WithLockAsync(c, async _ =>
                {
                    inside.Release();
                    await c.SleepAsync(TimeSpan.FromHours(1));
                }));
                using (await inside.AcquireAsync(cx)) { }
                t.Cancel();
                Assert.True((await t.JoinAsync(cx)).IsCancelled);
                Assert.False(m.IsPoisoned);
                using var g = await m.LockAsync(cx);
                Assert.False(g.WasPoisoned);
            });
            Assert.True(r.Passed, r.Describe());
        }
    }

    [Fact]
    public void Mutex_WithoutPoisoning_APanicLeavesItClean_AndPoisonIsRefused()
    {
        var r = LabRuntime.Run(1, async cx =>
        {
            var m = new AsyncMutex();
            Assert.False(m.IsPoisoning);
            var (was, _, broken) = await PanicThenNext(cx, m, () => new InvalidOperationException("half-way"));
            Assert.True(broken.IsPanicked);
            Assert.False(was);
            Assert.False(m.IsPoisoned);
            using var g = await m.LockAsync(cx);
            Assert.Throws<InvalidOperationException>(g.Poison);
        });
        Assert.True(r.Passed, r.Describe());
    }

    [Fact]
    public void Mutex_ExplicitPoison_ByTheHolder()
    {
        var r = LabRuntime.Run(2, async cx =>
        {
            var m = new AsyncMutex(poisoning: true);
            using (var g = await m.LockAsync(cx)) g.Poison();
            Assert.True(m.IsPoisoned);
            Assert.True(m.TryLock(out var g2));
            Assert.True(g2!.WasPoisoned);
            g2.Dispose();
        });
        Assert.True(r.Passed, r.Describe());
    }

    [Fact]
    public void RwLock_AWriterEndingPanicked_PoisonsIt_ReadersSeeIt_OnlyAWriterClears_AcrossSeeds()
    {
        for (ulong seed = 1; seed <= Seeds; seed++)
        {
            var r = LabRuntime.Run(seed, async cx =>
            {
                var rw = new RwLock(poisoning: true);
                var written = new AsyncSemaphore(0);
                var readers = Enumerable.Range(0, 2).Select(i => cx.Spawn($"reader{i}", async c =>
                {
                    using (await written.AcquireAsync(c)) { }
                    using var g = await rw.ReadAsync(c);
                    Assert.True(g.WasPoisoned);
                    Assert.Throws<InvalidOperationException>(g.ClearPoison); // readers may not clear
                })).ToList();
                var w = await cx.RegionAsync("writer", async c => await rw.WithWriteAsync(c, async _ =>
                {
                    await c.YieldAsync();
                    throw new InvalidOperationException("half-way");
                }));
                Assert.True(w.IsPanicked, w.ToString());
                written.Release(2);
                foreach (var h in readers) Assert.True((await h.JoinAsync(cx)).IsOk);
                Assert.True(rw.IsPoisoned);
                using (var g = await rw.WriteAsync(cx))
                {
                    Assert.True(g.WasPoisoned);
                    g.ClearPoison();
                }
                using (var g = await rw.ReadAsync(cx)) Assert.False(g.WasPoisoned);
            });
            Assert.True(r.Passed, r.Describe());
        }
    }

    [Fact]
    public async Task Mutex_Poisoning_OnTheProductionRuntime()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var m = new AsyncMutex(poisoning: true);
        var outcome = await rt.RunAsync(async cx =>
        {
            for (int round = 0; round < 20; round++)
            {
                var (was, consistent, broken) = await PanicThenNext(cx, m, () => new InvalidOperationException("half-way"));
                Assert.True(broken.IsPanicked);
                Assert.True(was);
                Assert.False(consistent);
                using (var g = await m.LockAsync(cx)) g.ClearPoison();
                // Contended clean rounds leave it clean.
                var hs = Enumerable.Range(0, 4).Select(i => cx.Spawn($"w{i}", async c => await m.WithLockAsync(c, async _ => await c.YieldAsync()))).ToList();
                foreach (var h in hs) Assert.True((await h.JoinAsync(cx)).IsOk);
                Assert.False(m.IsPoisoned);
            }
        }).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(outcome.IsOk, outcome.ToString());
    }
}
