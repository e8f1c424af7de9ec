using System.Collections.Concurrent;

namespace Asupersync.Tests;

public class RuntimeTests
{
    [Fact]
    public async Task HundredThousandTasks_SpawnedAndJoined_NothingLeftBehind()
    {
        const int n = 100_000;
        long sum = 0;
        Runtime? rt = null;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("many", async cx =>
        {
            var handles = new TaskHandle<int>[n];
            for (int i = 0; i < n; i++)
            {
                int v = i;
                handles[i] = cx.Spawn("t", async cx =>
                {
                    if ((v & 7) == 0) await cx.YieldAsync();
                    return v;
                });
            }
            foreach (var h in handles) sum += await h.ValueAsync(cx);
            return handles.Count(h => h.IsCompleted);
        }), inspect: r => rt = r);
        Assert.Equal(n, o.Value.Value);
        Assert.Equal((long)n * (n - 1) / 2, sum);
        Assert.Equal(n + 2, rt!.Diagnostics.TasksSpawned); // + root body + region body
        Assert.Equal(0, rt.Diagnostics.ObligationsLeaked);
    }

    [Fact]
    public async Task ManyRegionsInParallel_StressBounded()
    {
        int leaves = 0;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("top", async cx =>
        {
            for (int i = 0; i < 200; i++)
            {
                cx.Spawn("r" + i, cx => cx.RegionAsync("sub", async cx =>
                {
                    for (int j = 0; j < 10; j++)
                        cx.Spawn("leaf", async cx => { await cx.YieldAsync(); Interlocked.Increment(ref leaves); });
                    await cx.YieldAsync();
                }));
            }
            await Task.CompletedTask;
        }));
        Assert.True(o.Value.IsOk);
        Assert.Equal(2000, leaves);
    }

    [Fact]
    public async Task RepeatedCancelStress_AllTasksFinalize()
    {
        for (int round = 0; round < 20; round++)
        {
            int finallies = 0, started = 0;
            var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
            {
                var allStarted = new TaskCompletionSource();
                for (int i = 0; i < 500; i++)
                {
                    cx.Spawn("w", async cx =>
                    {
                        try
                        {
                            if (Interlocked.Increment(ref started) == 500) allStarted.SetResult();
                            await cx.SleepAsync(TimeSpan.FromHours(1));
                        }
                        finally { Interlocked.Increment(ref finallies); }
                    });
                }
                // Some tasks may be cancelled mid-flight, some while sleeping: cancel while the last ones start.
                if (round % 2 == 0) await cx.AwaitAsync(allStarted.Task);
                else await cx.YieldAsync();
                cx.CancelRegion("stress");
            }));
            Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
            // Every task whose body started ran its finally exactly once; the others never started
            // (a task cancelled before its first step does not run its body).
            Assert.Equal(started, finallies);
            if (round % 2 == 0) Assert.Equal(500, finallies);
        }
    }

    [Fact]
    public async Task Sleeps_WakeInDeadlineOrder()
    {
        var order = new ConcurrentQueue<int>();
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            // Deadlines 2 s out: every sleeper is parked long before the first is due, even on a loaded machine (with
            // 10-40 ms, under load average 60, all had passed before the tasks started, which then ran in spawn order).
            var start = cx.Now + TimeSpan.FromSeconds(2);
            foreach (var ms in new[] { 400, 100, 300, 200 })
                cx.Spawn("s", async cx => { await cx.SleepUntilAsync(start + TimeSpan.FromMilliseconds(ms)); order.Enqueue(ms); });
            await Task.CompletedTask;
        }), new RuntimeOptions { WorkerCount = 1 }); // one worker: wake order is execution order
        Assert.True(o.Value.IsOk);
        Assert.Equal([100, 200, 300, 400], order.ToArray());
    }

    [Fact]
    public async Task ShutdownSignal_WakesWaiters_SecondSignalCancels()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        bool woke = false;
        var run = rt.RunAsync(async cx =>
        {
            await cx.ShutdownSignalAsync();
            woke = true;
            // Still running after the first signal: graceful work happens here.
            await cx.SleepAsync(TimeSpan.FromHours(1));
        });
        SpinWait.SpinUntil(() => rt.Core.ShutdownWaiterCount == 1, TestRuntime.HangGuard);
        rt.RequestShutdown();
        SpinWait.SpinUntil(() => Volatile.Read(ref woke), TestRuntime.HangGuard);
        Assert.False(run.IsCompleted); // the first signal only woke the waiter
        rt.RequestShutdown();
        var o = await run.WaitAsync(TestRuntime.HangGuard);
        Assert.True(woke);
        Assert.Equal(CancelKind.Shutdown, o.CancelReason!.Kind);
        Assert.Equal(130, Runtime.ExitCodeOf(o));
    }

    [Fact]
    public async Task ShutdownWithoutWaiters_CancelsRoots()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        var started = new TaskCompletionSource();
        var run = rt.RunAsync(async cx => { started.SetResult(); await cx.SleepAsync(TimeSpan.FromHours(1)); });
        await started.Task.WaitAsync(TestRuntime.HangGuard);
        rt.RequestShutdown();
        var o = await run.WaitAsync(TestRuntime.HangGuard);
        Assert.Equal(OutcomeKind.Cancelled, o.Kind);
    }

    [Fact]
    public async Task DisposeAsync_CancelsAndWaitsForRunningRoots()
    {
        bool cleaned = false;
        var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        var started = new TaskCompletionSource();
        var run = rt.RunAsync(async cx =>
        {
            try { started.SetResult(); await cx.SleepAsync(TimeSpan.FromHours(1)); }
            finally { await cx.SleepAsync(TimeSpan.FromMilliseconds(1)); cleaned = true; }
        });
        await started.Task.WaitAsync(TestRuntime.HangGuard);
        await rt.DisposeAsync().AsTask().WaitAsync(TestRuntime.HangGuard);
        Assert.True(cleaned);
        Assert.Equal(OutcomeKind.Cancelled, (await run).Kind);
        Assert.Throws<ObjectDisposedException>(() => { _ = rt.RunAsync(cx => Task.CompletedTask); });
    }

    [Theory]
    [InlineData(OutcomeKind.Ok, 0)]
    [InlineData(OutcomeKind.Err, 1)]
    [InlineData(OutcomeKind.Cancelled, 2)]
    [InlineData(OutcomeKind.Panicked, 3)]
    public void ExitCodes_FollowTheOutcome(OutcomeKind kind, int code)
    {
        var o = kind switch
        {
            OutcomeKind.Ok => Outcome.Ok(),
            OutcomeKind.Err => Outcome.Err<Unit>(new TaskErrorException("e")),
            OutcomeKind.Cancelled => Outcome.Cancelled<Unit>(CancelReason.User()),
            _ => Outcome.Panicked<Unit>(new InvalidOperationException()),
        };
        Assert.Equal(code, Runtime.ExitCodeOf(o));
    }

    [Fact]
    public async Task CancelLane_RunsBeforeReadyWork()
    {
        // One worker: a flood of ready tasks is queued, then a task is cancelled; its cleanup must not wait
        // behind the whole flood (the cancel lane goes first, bounded by the streak limit).
        int readyRunsBeforeCleanup = -1;
        int readyRuns = 0;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            var victim = cx.Spawn("victim", async cx =>
            {
                try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                catch (CancelledException) { readyRunsBeforeCleanup = Volatile.Read(ref readyRuns); throw; }
            });
            await cx.YieldAsync();
            for (int i = 0; i < 1000; i++)
                cx.Spawn("ready", cx => { Interlocked.Increment(ref readyRuns); return Task.CompletedTask; });
            victim.Cancel();
            await victim.JoinAsync(cx);
        }), new RuntimeOptions { WorkerCount = 1 });
        Assert.True(o.Value.IsOk);
        Assert.InRange(readyRunsBeforeCleanup, 0, 10);
    }
}

public class SchedulerFairnessAndEntryTests
{
    [Fact]
    public async Task CancelLaneFlood_DoesNotStarveReadyLane()
    {
        // One worker. 50 cancelled tasks drain with 200 yields each (all in the cancel lane); a ready-lane task
        // must still make progress while they drain, thanks to the streak limit.
        int drained = 0;
        int readyProgressWhileDraining = 0;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            var victims = new List<TaskHandle<Unit>>();
            for (int i = 0; i < 50; i++)
            {
                victims.Add(cx.Spawn("victim", async cx =>
                {
                    try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                    finally
                    {
                        for (int k = 0; k < 200; k++) await cx.YieldAsync();
                        Interlocked.Increment(ref drained);
                    }
                }));
            }
            var ready = cx.Spawn("ready", async cx =>
            {
                while (Volatile.Read(ref drained) < 50)
                {
                    await cx.YieldAsync();
                    if (Volatile.Read(ref drained) < 50) Interlocked.Increment(ref readyProgressWhileDraining);
                }
            });
            foreach (var v in victims) await cx.WaitStartedAsync(v);
            foreach (var v in victims) v.Cancel();
            foreach (var v in victims) await v.JoinAsync(cx);
            await ready.JoinAsync(cx);
        }), new RuntimeOptions { WorkerCount = 1 });
        Assert.True(o.Value.IsOk);
        // 50 × 200 cancel-lane dispatches; with a streak limit of 16 the ready task gets roughly one in 17.
        Assert.True(readyProgressWhileDraining > 100, $"ready task progressed only {readyProgressWhileDraining} times");
    }

    [Fact]
    public async Task MaxChildRegions_IsEnforced()
    {
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("parent", async cx =>
        {
            var gate = new TaskCompletionSource();
            var first = cx.Spawn("first", cx => cx.RegionAsync("child1", async cx => await cx.AwaitAsync(gate.Task)));
            while (cx.Region.Children.Count == 0) await cx.YieldAsync();
            var second = cx.Spawn("second", cx => cx.RegionAsync("child2", cx => Task.CompletedTask));
            var secondOutcome = await second.JoinAsync(cx);
            gate.SetResult();
            await first.JoinAsync(cx);
            return secondOutcome;
        }, new RegionOptions { MaxChildRegions = 1, Policy = RegionPolicy.CollectAll }));
        // The refused RegionAsync surfaced as the second task's panic; CollectAll still reports it.
        Assert.Equal(OutcomeKind.Panicked, o.Value.Kind);
        Assert.IsType<RegionLimitExceededException>(o.Value.Exception);
    }

    [Fact]
    public void Main_ReturnsExitCodesFromTheRootOutcome()
    {
        var quiet = new RuntimeOptions { PrintDiagnostics = false, WorkerCount = 2 };
        Assert.Equal(0, Runtime.Main([], cx => Task.CompletedTask, quiet));
        Assert.Equal(7, Runtime.Main([], cx => Task.FromResult(7), quiet));
        Assert.Equal(1, Runtime.Main([], cx => throw new TaskErrorException("nope"), quiet));
        Assert.Equal(3, Runtime.Main([], cx => throw new InvalidOperationException("bug"), quiet));
        // The inner outcome of a region decides, not the root body's success at returning it.
        Assert.Equal(1, Runtime.Main([], cx => cx.RegionAsync("r", cx => Task.FromException(new TaskErrorException("inner"))), quiet));
        Assert.Equal(2, Runtime.Main([], cx => cx.RegionAsync("r", async cx => { cx.CancelRegion(); await cx.YieldAsync(); }), quiet));
        Assert.Equal(5, Runtime.Main(["--asupersync-workers=1"], cx => cx.RegionAsync("r", cx => Task.FromResult(5)), quiet)); // an int value is the exit code
    }
}
