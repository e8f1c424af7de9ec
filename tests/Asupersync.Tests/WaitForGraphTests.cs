using Asupersync.Sync;
using static Asupersync.TestPrograms.DeadlockPrograms;

namespace Asupersync.Tests;

/// <summary>The wait-for graph on the production multi-threaded runtime: a real deadlock is reported, a fixed program is not.</summary>
public class WaitForGraphTests
{
    [Fact]
    public async Task LockOrderDeadlock_IsReported_NamingTasksMutexesAndHolders()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var seen = new TaskCompletionSource<DiagnosticEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        rt.Diagnostics.Reported += e => { if (e.Kind == DiagnosticKind.Deadlock) seen.TrySetResult(e); };
        var run = rt.RunAsync(LockOrder(fixedOrder: false, meet: true));
        var d = await seen.Task.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Contains("'ab' waits for mutex", d.Message);
        Assert.Contains("'ba' waits for mutex", d.Message);
        Assert.Contains("held by task", d.Message);
        rt.RequestShutdown();
        rt.RequestShutdown();
        var outcome = await run.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(outcome.IsCancelled, outcome.ToString());
        Assert.Single(rt.Diagnostics.Recent, e => e.Kind == DiagnosticKind.Deadlock);
    }

    [Fact]
    public async Task BreakDeadlocks_CancelsOneMember_WithDeadlockReason()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false, BreakDeadlocks = true });
        var outcome = await rt.RunAsync(async cx =>
        {
            var a = new AsyncMutex();
            var b = new AsyncMutex();
            var met = new AsyncBarrier(2);
            async Task<CancelKind?> Both(Cx cx, AsyncMutex first, AsyncMutex second)
            {
                using (await first.LockAsync(cx))
                {
                    await met.WaitAsync(cx);
                    try
                    {
                        using (await second.LockAsync(cx)) return null;
                    }
                    catch (CancelledException e)
                    {
                        return e.Reason.Kind;
                    }
                }
            }
            var t1 = cx.Spawn("ab", cx => Both(cx, a, b));
            var t2 = cx.Spawn("ba", cx => Both(cx, b, a));
            var o1 = await t1.JoinAsync(cx);
            var o2 = await t2.JoinAsync(cx);
            Assert.Contains(CancelKind.Deadlock, new[] { o1.IsOk ? o1.Value : null, o2.IsOk ? o2.Value : null, o1.CancelReason?.Kind, o2.CancelReason?.Kind });
        }).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Single(rt.Diagnostics.Recent, e => e.Kind == DiagnosticKind.Deadlock);
    }

    [Fact]
    public async Task FixedLockOrder_ManyRuns_NoDeadlockReported()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        for (int i = 0; i < 50; i++)
        {
            var outcome = await rt.RunAsync(LockOrder(fixedOrder: true, meet: false)).WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(outcome.IsOk, outcome.ToString());
        }
        Assert.DoesNotContain(rt.Diagnostics.Recent, e => e.Kind == DiagnosticKind.Deadlock);
    }

    [Fact]
    public async Task JoinCycle_IsReported()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var seen = new TaskCompletionSource<DiagnosticEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        rt.Diagnostics.Reported += e => { if (e.Kind == DiagnosticKind.Deadlock) seen.TrySetResult(e); };
        var run = rt.RunAsync(async cx =>
        {
            var ready = new AsyncBarrier(2);
            TaskHandle<Unit>? b = null;
            var a = cx.Spawn("a", async cx => { await ready.WaitAsync(cx); await b!.JoinAsync(cx); });
            b = cx.Spawn("b", async cx => { await ready.WaitAsync(cx); await a.JoinAsync(cx); });
            await a.JoinAsync(cx);
        });
        var d = await seen.Task.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Contains("waits for join of task", d.Message);
        rt.RequestShutdown();
        rt.RequestShutdown();
        await run.WaitAsync(TimeSpan.FromMinutes(2));
    }

    private static async Task<DiagnosticEvent> ExpectDeadlock(Func<Cx, Task> program)
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var seen = new TaskCompletionSource<DiagnosticEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        rt.Diagnostics.Reported += e => { if (e.Kind == DiagnosticKind.Deadlock) seen.TrySetResult(e); };
        var run = rt.RunAsync(program);
        var d = await seen.Task.WaitAsync(TimeSpan.FromMinutes(2));
        rt.RequestShutdown();
        rt.RequestShutdown();
        await run.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Single(rt.Diagnostics.Recent, e => e.Kind == DiagnosticKind.Deadlock);
        return d;
    }

    [Fact]
    public async Task SemaphoreCycle_IsReported_NamingThePermitHolder()
    {
        var d = await ExpectDeadlock(SemaphoreCycle(fixedOrder: false));
        Assert.Matches("'m' waits for semaphore [^;]* held by task \\d+ 'p'", d.Message);
        Assert.Matches("'p' waits for mutex [^;]* held by task \\d+ 'm'", d.Message);
    }

    [Fact]
    public async Task RwLockCycle_IsReported_NamingTheReader()
    {
        var d = await ExpectDeadlock(RwLockCycle(fixedOrder: false));
        Assert.Matches("'w' waits for rwlock [^;]* held by task \\d+ 'r'", d.Message);
        Assert.Matches("'r' waits for mutex [^;]* held by task \\d+ 'w'", d.Message);
    }

    [Fact]
    public async Task FixedSemaphoreAndRwLockOrders_ManyRuns_NoDeadlockReported()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        for (int i = 0; i < 30; i++)
        {
            var o1 = await rt.RunAsync(SemaphoreCycle(fixedOrder: true)).WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(o1.IsOk, o1.ToString());
            var o2 = await rt.RunAsync(RwLockCycle(fixedOrder: true)).WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(o2.IsOk, o2.ToString());
        }
        Assert.DoesNotContain(rt.Diagnostics.Recent, e => e.Kind == DiagnosticKind.Deadlock);
    }

    /// <summary>
    /// Waits whose wakers are anonymous are not edges at run time: here code outside every task ends a wait that
    /// looks like a cycle (a signalled semaphore: any code may Release; a channel: any code may TrySend).
    /// </summary>
    [Fact]
    public async Task AnonymousWakers_SignalledSemaphoreAndChannel_AreNotReported()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var sem = new AsyncSemaphore(1);
        sem.Release(); // used as a signal: 2 permits now, and any code may add more
        var (tx, rx) = Asupersync.Channels.Mpsc.Bounded<int>(1);
        var m = new AsyncMutex();
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = rt.RunAsync(async cx =>
        {
            var all = await sem.AcquireAsync(cx, 2);
            var q = cx.Spawn("wants-permit", async cx => { using (await sem.AcquireAsync(cx)) { } });
            var c = cx.Spawn("consumer", async cx =>
            {
                using (await m.LockAsync(cx)) await rx.ReceiveAsync(cx);
            });
            var l = cx.Spawn("wants-mutex", async cx =>
            {
                while (!m.IsLocked) await cx.YieldAsync();
                using (await m.LockAsync(cx)) { }
            });
            parked.TrySetResult();
            await q.JoinAsync(cx); // 'wants-permit' waits on the root's permits, the root joins it
            all.Release();
            await c.JoinAsync(cx);
            await l.JoinAsync(cx);
        });
        await parked.Task.WaitAsync(TimeSpan.FromMinutes(2));
        while (sem.WaitingCount == 0 || m.WaitingCount == 0) await Task.Delay(10);
        sem.Release();
        Assert.True(tx.TrySend(1));
        var outcome = await run.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.DoesNotContain(rt.Diagnostics.Recent, e => e.Kind == DiagnosticKind.Deadlock);
    }
}
