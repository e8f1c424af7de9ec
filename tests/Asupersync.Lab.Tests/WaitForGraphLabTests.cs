using Asupersync.Lab.Exploration;
using Asupersync.Sync;
using static Asupersync.TestPrograms.DeadlockPrograms;

namespace Asupersync.Lab.Tests;

/// <summary>The Lab's Deadlock oracle names the resources of a wait cycle and their holders (from the kernel's wait-for graph).</summary>
public class WaitForGraphLabTests
{
    [Fact]
    public void LockOrderDeadlock_EverySeed_NamesMutexesAndHolders()
    {
        for (ulong seed = 1; seed <= 40; seed++)
        {
            var r = LabRuntime.Run(seed, LockOrder(fixedOrder: false, meet: true));
            var f = Assert.Single(r.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
            Assert.Contains("Wait-for graph", f.Message);
            Assert.Contains("'ab' waits for mutex", f.Message);
            Assert.Contains("'ba' waits for mutex", f.Message);
            Assert.Contains("held by task", f.Message);
        }
    }

    [Fact]
    public void FixedLockOrder_EverySeed_Clean()
    {
        for (ulong seed = 1; seed <= 40; seed++)
        {
            var r = LabRuntime.Run(seed, LockOrder(fixedOrder: true, meet: false));
            Assert.True(r.Passed, string.Join("; ", r.OracleFailures));
        }
    }

    [Fact]
    public void LockOrderDeadlock_Explored_WhenFound_NamesHolders()
    {
        var found = LabRuntime.Explore(LockOrder(fixedOrder: false, meet: false), new ExploreOptions { MaxSchedules = 500, Seed = 3 });
        Assert.True(found.FirstFailure is not null, found.Describe());
        var f = Assert.Single(found.FirstFailure!.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
        Assert.Contains("held by task", f.Message);
    }

    [Fact]
    public void JoinCycle_NamesJoinEdges()
    {
        var r = LabRuntime.Run(1, async cx =>
        {
            TaskHandle<Unit>? b = null;
            var a = cx.Spawn("a", async cx => { await cx.YieldAsync(); await b!.JoinAsync(cx); });
            b = cx.Spawn("b", async cx => { await cx.YieldAsync(); await a.JoinAsync(cx); });
            await a.JoinAsync(cx);
        });
        var f = Assert.Single(r.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
        Assert.Contains("waits for join of task", f.Message);
    }
}

/// <summary>The wait-for graph's edges through semaphore permits, RwLock holders, channels and barriers, across seeds.</summary>
public class WaitForGraphPrimitivesLabTests
{
    private const int Seeds = 30;

    [Fact]
    public void SemaphoreCycle_EverySeed_NamesThePermitHolder()
    {
        for (ulong seed = 1; seed <= Seeds; seed++)
        {
            var r = LabRuntime.Run(seed, SemaphoreCycle(fixedOrder: false));
            var f = Assert.Single(r.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
            Assert.Contains("Wait-for graph", f.Message);
            Assert.Matches("'m' waits for semaphore [^;]* held by task \\d+ 'p'", f.Message);
            Assert.Matches("'p' waits for mutex [^;]* held by task \\d+ 'm'", f.Message);
        }
    }

    [Fact]
    public void SemaphoreFixedOrder_EverySeed_Clean()
    {
        for (ulong seed = 1; seed <= Seeds; seed++)
        {
            var r = LabRuntime.Run(seed, SemaphoreCycle(fixedOrder: true));
            Assert.True(r.Passed, string.Join("; ", r.OracleFailures));
        }
    }

    [Fact]
    public void RwLockCycle_EverySeed_NamesTheReaderHoldingOffTheWriter()
    {
        for (ulong seed = 1; seed <= Seeds; seed++)
        {
            var r = LabRuntime.Run(seed, RwLockCycle(fixedOrder: false));
            var f = Assert.Single(r.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
            Assert.Matches("'w' waits for rwlock [^;]* held by task \\d+ 'r'", f.Message);
            Assert.Matches("'r' waits for mutex [^;]* held by task \\d+ 'w'", f.Message);
        }
    }

    [Fact]
    public void RwLockFixedOrder_EverySeed_Clean()
    {
        for (ulong seed = 1; seed <= Seeds; seed++)
        {
            var r = LabRuntime.Run(seed, RwLockCycle(fixedOrder: true));
            Assert.True(r.Passed, string.Join("; ", r.OracleFailures));
        }
    }

    [Fact]
    public void SemaphoreSelfDeadlock_ATaskWaitingForAPermitOnlyItHolds_IsNamed()
    {
        var r = LabRuntime.Run(1, async cx =>
        {
            var sem = new AsyncSemaphore(2);
            await cx.Spawn("greedy", async cx =>
            {
                using (await sem.AcquireAsync(cx))
                using (await sem.AcquireAsync(cx, 2)) { }
            }).JoinAsync(cx);
        });
        var f = Assert.Single(r.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
        Assert.Matches("'greedy' waits for semaphore [^;]* held by task \\d+ 'greedy'", f.Message);
    }

    [Fact]
    public void ChannelAndMutexCycle_EverySeed_NamesTheChannelWait()
    {
        for (ulong seed = 1; seed <= Seeds; seed++)
        {
            var r = LabRuntime.Run(seed, async cx =>
            {
                var (tx, rx) = Asupersync.Channels.Mpsc.Bounded<int>(1);
                var m = new AsyncMutex();
                var met = new AsyncBarrier(2);
                var consumer = cx.Spawn("consumer", async cx =>
                {
                    using (await m.LockAsync(cx))
                    {
                        await met.WaitAsync(cx);
                        await rx.ReceiveAsync(cx);
                    }
                });
                var producer = cx.Spawn("producer", async cx =>
                {
                    await met.WaitAsync(cx);
                    using (await m.LockAsync(cx)) await tx.SendAsync(cx, 1);
                });
                await consumer.JoinAsync(cx);
                await producer.JoinAsync(cx);
            });
            var f = Assert.Single(r.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
            Assert.Contains("Wait-for graph", f.Message);
            Assert.True(f.Message.Contains("'consumer' waits for channel-receive"), f.Message);
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(f.Message, "'producer' waits for mutex [^;]* held by task \\d+ 'consumer'"), f.Message);
        }
    }

    [Fact]
    public void BarrierAndMutexCycle_EverySeed_NamesTheBarrierWait()
    {
        for (ulong seed = 1; seed <= Seeds; seed++)
        {
            var r = LabRuntime.Run(seed, async cx =>
            {
                var m = new AsyncMutex();
                var gate = new AsyncBarrier(2);
                var first = new AsyncBarrier(2);
                var holder = cx.Spawn("holder", async cx =>
                {
                    using (await m.LockAsync(cx))
                    {
                        await first.WaitAsync(cx);
                        await gate.WaitAsync(cx); // 'late' would arrive, but only after taking the mutex
                    }
                });
                var late = cx.Spawn("late", async cx =>
                {
                    await first.WaitAsync(cx);
                    using (await m.LockAsync(cx)) await gate.WaitAsync(cx);
                });
                await holder.JoinAsync(cx);
                await late.JoinAsync(cx);
            });
            var f = Assert.Single(r.OracleFailures, f => f.Oracle == LabOracles.Deadlock);
            Assert.Matches("'holder' waits for barrier", f.Message);
            Assert.Matches("'late' waits for mutex [^;]* held by task \\d+ 'holder'", f.Message);
        }
    }
}
