using Asupersync.Sync;

namespace Asupersync.TestPrograms;

/// <summary>
/// The wait-for graph's deadlock programs and their fixed variants, shared by the production tests
/// (tests/Asupersync.Tests/WaitForGraphTests.cs) and the Lab tests (linked into Asupersync.Lab.Tests). Each program
/// makes its own primitives, so a program may be run many times.
/// </summary>
internal static class DeadlockPrograms
{
    /// <summary>
    /// 'ab' takes mutex a then b, 'ba' takes b then a (fixed: a then b too). With <paramref name="meet"/> both meet at a
    /// barrier while holding their first lock, so the broken order deadlocks on every schedule; without it, only some do.
    /// </summary>
    internal static Func<Cx, Task> LockOrder(bool fixedOrder, bool meet) => async cx =>
    {
        var a = new AsyncMutex();
        var b = new AsyncMutex();
        var met = new AsyncBarrier(2);
        async Task Both(Cx cx, AsyncMutex first, AsyncMutex second)
        {
            using (await first.LockAsync(cx))
            {
                if (meet) await met.WaitAsync(cx);
                else await cx.YieldAsync();
                using (await second.LockAsync(cx)) await cx.YieldAsync();
            }
        }
        var t1 = cx.Spawn("ab", cx => Both(cx, a, b));
        var t2 = cx.Spawn("ba", cx => fixedOrder ? Both(cx, a, b) : Both(cx, b, a));
        await t1.JoinAsync(cx);
        await t2.JoinAsync(cx);
    };

    /// <summary>'p' holds a semaphore permit and wants the mutex; 'm' holds the mutex and wants a permit (fixed: both take the permit first).</summary>
    internal static Func<Cx, Task> SemaphoreCycle(bool fixedOrder) => async cx =>
    {
        var sem = new AsyncSemaphore(1);
        var m = new AsyncMutex();
        var met = new AsyncBarrier(2);
        var p = cx.Spawn("p", async cx =>
        {
            using (await sem.AcquireAsync(cx))
            {
                if (!fixedOrder) await met.WaitAsync(cx);
                using (await m.LockAsync(cx)) await cx.YieldAsync();
            }
        });
        var q = cx.Spawn("m", async cx =>
        {
            if (fixedOrder)
            {
                using (await sem.AcquireAsync(cx))
                using (await m.LockAsync(cx)) await cx.YieldAsync();
                return;
            }
            using (await m.LockAsync(cx))
            {
                await met.WaitAsync(cx);
                using (await sem.AcquireAsync(cx)) await cx.YieldAsync();
            }
        });
        await p.JoinAsync(cx);
        await q.JoinAsync(cx);
    };

    /// <summary>'r' reads and wants the mutex; 'w' holds the mutex and wants to write (fixed: 'w' writes after letting the mutex go).</summary>
    internal static Func<Cx, Task> RwLockCycle(bool fixedOrder) => async cx =>
    {
        var rw = new RwLock();
        var m = new AsyncMutex();
        var met = new AsyncBarrier(2);
        var r = cx.Spawn("r", async cx =>
        {
            using (await rw.ReadAsync(cx))
            {
                if (!fixedOrder) await met.WaitAsync(cx);
                using (await m.LockAsync(cx)) await cx.YieldAsync();
            }
        });
        var w = cx.Spawn("w", async cx =>
        {
            if (fixedOrder)
            {
                using (await m.LockAsync(cx)) await cx.YieldAsync();
                using (await rw.WriteAsync(cx)) await cx.YieldAsync();
                return;
            }
            using (await m.LockAsync(cx))
            {
                await met.WaitAsync(cx);
                using (await rw.WriteAsync(cx)) await cx.YieldAsync();
            }
        });
        await r.JoinAsync(cx);
        await w.JoinAsync(cx);
    };
}
