using Asupersync.Kernel;
using Asupersync.Lab;
using Asupersync.Lab.Exploration;

namespace Asupersync.Lab.Tests;

/// <summary>
/// A minimal FIFO lock built on the kernel's wait operations, local to these tests (the real sync primitives are
/// written elsewhere). It reports its waits and accesses to the observer like a primitive should, so the Lab sees
/// lock dependencies and names lock waits in deadlock reports.
/// </summary>
internal sealed class TestLock(long id)
{
    private readonly Queue<Waiter> _waiters = new();
    private TaskCore? _owner;

    private sealed class Waiter(TaskCore task, TestLock owner) : WaitOp<Unit>(task)
    {
        internal TaskCore Task => Waiter;

        protected override void OnInterrupted() => owner.Remove(this);
    }

    public ValueTask LockAsync(Cx cx)
    {
        var task = cx.Task;
        task.Checkpoint();
        var observer = task.Runtime.Observer;
        observer?.OnAccess(id, "test-lock");
        if (_owner is null)
        {
            _owner = task;
            return ValueTask.CompletedTask;
        }
        var w = new Waiter(task, this);
        _waiters.Enqueue(w);
        observer?.OnWait(task, "test-lock", id);
        w.Register();
        return w.AsUntypedValueTask();
    }

    public void Unlock(Cx cx)
    {
        cx.Task.Runtime.Observer?.OnAccess(id, "test-lock");
        if (_waiters.TryDequeue(out var next))
        {
            _owner = next.Task;
            next.TrySetResult(default);
        }
        else
        {
            _owner = null;
        }
    }

    private void Remove(Waiter w)
    {
        var rest = _waiters.Where(x => !ReferenceEquals(x, w)).ToArray();
        _waiters.Clear();
        foreach (var x in rest) _waiters.Enqueue(x);
    }
}

public class LockOrderDeadlockTests
{
    /// <summary>Two tasks take locks A and B; the buggy variant takes them in opposite orders.</summary>
    private static Func<Cx, Task> TwoLocks(bool fixedOrder) => async cx =>
    {
        var a = new TestLock(1001);
        var b = new TestLock(1002);
        var t1 = cx.Spawn("ab", async cx =>
        {
            await a.LockAsync(cx);
            await cx.YieldAsync();
            await b.LockAsync(cx);
            b.Unlock(cx);
            a.Unlock(cx);
        });
        var t2 = cx.Spawn("ba", async cx =>
        {
            var (first, second) = fixedOrder ? (a, b) : (b, a);
            await first.LockAsync(cx);
            await cx.YieldAsync();
            await second.LockAsync(cx);
            second.Unlock(cx);
            first.Unlock(cx);
        });
        await t1.JoinAsync(cx);
        await t2.JoinAsync(cx);
    };

    /// <summary>The same bug with the library's <see cref="Asupersync.Sync.AsyncMutex"/>.</summary>
    private static Func<Cx, Task> TwoMutexes(bool fixedOrder) => async cx =>
    {
        var a = new Asupersync.Sync.AsyncMutex();
        var b = new Asupersync.Sync.AsyncMutex();
        async Task Both(Cx cx, Asupersync.Sync.AsyncMutex first, Asupersync.Sync.AsyncMutex second)
        {
            using (await first.LockAsync(cx))
            {
                await cx.YieldAsync();
                using (await second.LockAsync(cx)) await cx.YieldAsync();
            }
        }
        var t1 = cx.Spawn("ab", cx => Both(cx, a, b));
        var t2 = cx.Spawn("ba", cx => fixedOrder ? Both(cx, a, b) : Both(cx, b, a));
        await t1.JoinAsync(cx);
        await t2.JoinAsync(cx);
    };

    [Theory]
    [InlineData(ExploreStrategy.Random)]
    [InlineData(ExploreStrategy.Pct)]
    [InlineData(ExploreStrategy.Dpor)]
    public void LockOrderDeadlock_WithLibraryMutex_IsFound_AndFixedOrderIsClean(ExploreStrategy strategy)
    {
        var found = LabRuntime.Explore(TwoMutexes(false), new ExploreOptions { Strategy = strategy, MaxSchedules = 500, Seed = 2 });
        Assert.True(found.FirstFailure is not null, found.Describe());
        var deadlock = Assert.Single(found.FirstFailure!.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
        Assert.Contains("'ab' in 'mutex'", deadlock.Message);
        var replay = LabRuntime.Replay(found.FirstFailure.Trace, TwoMutexes(false));
        Assert.Contains(replay.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
        Assert.DoesNotContain(replay.OracleFailures, f => f.Oracle == LabOracles.Determinism);
        // Sound mode (SharedState.Undeclared, the default) orders every step that ran user code: more classes to exhaust.
        var clean = LabRuntime.Explore(TwoMutexes(true), new ExploreOptions { Strategy = strategy, MaxSchedules = 5_000, Seed = 2 });
        Assert.True(clean.FirstFailure is null, clean.Describe());
        if (strategy == ExploreStrategy.Dpor) Assert.True(clean.Exhausted, clean.Describe());
    }

    [Theory]
    [InlineData(ExploreStrategy.Random)]
    [InlineData(ExploreStrategy.Pct)]
    [InlineData(ExploreStrategy.Dpor)]
    public void LockOrderDeadlock_IsFound_Replayed_AndFixedOrderIsClean(ExploreStrategy strategy)
    {
        var found = LabRuntime.Explore(TwoLocks(false), new ExploreOptions { Strategy = strategy, MaxSchedules = 500, Seed = 2 });
        var failure = found.FirstFailure;
        Assert.True(failure is not null, found.Describe());
        var deadlock = Assert.Single(failure!.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
        Assert.Contains("'ab' in 'test-lock'", deadlock.Message);
        Assert.Contains("'ba' in 'test-lock'", deadlock.Message);

        var path = failure.SaveTrace(Path.Combine(Path.GetTempPath(), "asupersync-lab-tests"));
        var replay = LabRuntime.Replay(path, TwoLocks(false));
        Assert.Contains(replay.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
        Assert.DoesNotContain(replay.OracleFailures, f => f.Oracle == LabOracles.Determinism);

        var clean = LabRuntime.Explore(TwoLocks(true), new ExploreOptions { Strategy = strategy, MaxSchedules = 300, Seed = 2 });
        Assert.True(clean.FirstFailure is null, clean.Describe());
    }
}
