using System.Collections.Concurrent;

namespace Asupersync.Tests;

public class CancelProtocolTests
{
    [Fact]
    public async Task Cancel_IsRaisedOnce_AndCleanupAwaitsWork()
    {
        var log = new ConcurrentQueue<string>();
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("worker", async cx =>
            {
                try
                {
                    await cx.SleepAsync(TimeSpan.FromHours(1));
                    log.Enqueue("not reached");
                }
                catch (CancelledException e)
                {
                    log.Enqueue("caught " + e.Reason.Kind);
                    // Drain: these awaits are checkpoints, and must not raise again.
                    await cx.SleepAsync(TimeSpan.FromMilliseconds(2));
                    await cx.YieldAsync();
                    cx.Checkpoint();
                    log.Enqueue("cleanup done");
                    throw;
                }
            });
            await cx.WaitStartedAsync(h);
            h.Cancel(Budget.Timeout(TimeSpan.FromSeconds(10)), "please stop");
            return await h.JoinAsync(cx);
        });
        Assert.Equal(["caught User", "cleanup done"], log.ToArray());
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
        Assert.Equal("please stop", o.Value.CancelReason!.Message);
    }

    [Fact]
    public async Task SwallowedCancel_StillCompletesCancelled()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("swallower", async cx =>
            {
                try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                catch (CancelledException) { }
                return 99;
            });
            await cx.WaitStartedAsync(h);
            h.Cancel();
            return await h.JoinAsync(cx);
        });
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
    }

    [Fact]
    public async Task PanicDuringDrain_OutranksCancelled()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("p", async cx =>
            {
                try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                finally { throw new InvalidOperationException("cleanup bug"); }
            });
            await cx.WaitStartedAsync(h);
            h.Cancel();
            var joined = await h.JoinAsync(cx);
            Assert.Equal(OutcomeKind.Panicked, joined.Kind);
            return joined;
        });
        // The panic is never hidden: it also reaches the enclosing region's outcome.
        Assert.Equal(OutcomeKind.Panicked, o.Kind);
        Assert.Equal("cleanup bug", o.Exception!.Message);
    }

    [Fact]
    public async Task SecondCancel_OnlyTightens()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var gate = new TaskCompletionSource();
            var h = cx.Spawn("w", async cx =>
            {
                using (cx.Mask())
                {
                    await cx.AwaitAsync(gate.Task);
                }
                await cx.YieldAsync();
            });
            await cx.WaitStartedAsync(h);
            h.Cancel(new CancelReason(CancelKind.Shutdown, "shutdown"));
            h.Cancel(new CancelReason(CancelKind.User, "weaker, later"));
            gate.SetResult();
            return await h.JoinAsync(cx);
        });
        Assert.Equal(CancelKind.Shutdown, o.Value.CancelReason!.Kind);
    }

    [Fact]
    public async Task StrongerSecondCancel_ReplacesReason()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var gate = new TaskCompletionSource();
            var h = cx.Spawn("w", async cx =>
            {
                using (cx.Mask()) await cx.AwaitAsync(gate.Task);
                await cx.YieldAsync();
            });
            await cx.WaitStartedAsync(h);
            h.Cancel(new CancelReason(CancelKind.User, "first"));
            h.Cancel(new CancelReason(CancelKind.FailFast, "stronger"));
            gate.SetResult();
            return await h.JoinAsync(cx);
        });
        Assert.Equal(CancelKind.FailFast, o.Value.CancelReason!.Kind);
    }

    [Fact]
    public async Task Mask_DefersCancelToFirstCheckpointAfterIt()
    {
        var log = new ConcurrentQueue<string>();
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("masked", async cx =>
            {
                using (cx.Mask())
                {
                    cx.CancelRegion("cancel myself and siblings");
                    await cx.SleepAsync(TimeSpan.FromMilliseconds(2)); // passes: masked
                    cx.Checkpoint();
                    log.Enqueue("critical section completed");
                }
                try { cx.Checkpoint(); }
                catch (CancelledException) { log.Enqueue("raised after mask"); throw; }
            });
            return await h.JoinAsync(cx);
        });
        Assert.Equal(["critical section completed", "raised after mask"], log.ToArray());
    }

    [Fact]
    public async Task MaskNesting_IsBounded()
    {
        var o = await TestRuntime.RunAsync(cx =>
        {
            var scopes = new List<MaskScope>();
            for (int i = 0; i < 32; i++) scopes.Add(cx.Mask());
            Assert.Throws<InvalidOperationException>(() => cx.Mask());
            foreach (var s in scopes) s.Dispose();
            return Task.FromResult(1);
        });
        Assert.True(o.IsOk);
    }

    [Fact]
    public async Task CancelBeforeFirstStep_BodyNeverRuns()
    {
        bool ran = false;
        var o = await TestRuntime.RunAsync(async cx =>
        {
            TaskHandle<Unit> h;
            using (cx.Mask())
            {
                h = cx.Spawn("never", cx => { ran = true; return Task.CompletedTask; });
                h.Cancel();
            }
            return await h.JoinAsync(cx);
        }, new RuntimeOptions { WorkerCount = 1 }); // one worker: the child cannot start before the cancel
        Assert.False(ran);
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
    }

    [Fact]
    public async Task DeadlineBudget_BecomesTimeoutCancel()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("slow", async cx => await cx.SleepAsync(TimeSpan.FromHours(1)), Budget.Timeout(TimeSpan.FromMilliseconds(10)));
            return await h.JoinAsync(cx);
        });
        Assert.Equal(CancelKind.Timeout, o.Value.CancelReason!.Kind);
    }

    [Fact]
    public async Task PollQuota_BecomesPollQuotaCancel()
    {
        long polls = 0;
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("spinner", async cx =>
            {
                while (true)
                {
                    await cx.YieldAsync();
                    polls = cx.Polls;
                }
            }, Budget.Polls(50));
            return await h.JoinAsync(cx);
        });
        Assert.Equal(CancelKind.PollQuota, o.Value.CancelReason!.Kind);
        Assert.InRange(polls, 49, 51);
    }

    [Fact]
    public async Task CostQuota_BecomesCostBudgetCancel()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("spender", async cx =>
            {
                for (int i = 0; i < 100; i++)
                {
                    cx.Charge(10);
                    await cx.YieldAsync();
                }
            }, Budget.Cost(55));
            return await h.JoinAsync(cx);
        });
        Assert.Equal(CancelKind.CostBudget, o.Value.CancelReason!.Kind);
    }

    [Fact]
    public async Task CleanupBudgetExhausted_RaisesAgain_AndReportsOverrun()
    {
        var log = new ConcurrentQueue<string>();
        Runtime? rtSeen = null;
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("slow-cleanup", async cx =>
            {
                try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                catch (CancelledException)
                {
                    log.Enqueue("first raise");
                    try { await cx.SleepAsync(TimeSpan.FromHours(1)); } // cleanup that takes too long
                    catch (CancelledException e) { log.Enqueue("second raise: " + e.Reason.Message); }
                    await cx.SleepAsync(TimeSpan.FromMilliseconds(1)); // no third raise
                    log.Enqueue("after");
                    throw;
                }
            });
            await cx.WaitStartedAsync(h);
            h.Cancel(Budget.Timeout(TimeSpan.FromMilliseconds(20)));
            return await h.JoinAsync(cx);
        }, inspect: rt => rtSeen = rt);
        Assert.Equal(["first raise", "second raise: cleanup budget exhausted", "after"], log.ToArray());
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
        Assert.Equal(1, rtSeen!.Diagnostics.BudgetOverruns);
        var d = Assert.Single(rtSeen.Diagnostics.Recent, e => e.Kind == DiagnosticKind.BudgetOverrun);
        Assert.Equal("slow-cleanup", d.TaskName);
    }

    [Fact]
    public async Task TaskThatNeverCheckpoints_IsReportedAsOverrunning_NotHung()
    {
        var release = new ManualResetEventSlim(false);
        var diagnostics = new ConcurrentQueue<DiagnosticEvent>();
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        rt.Diagnostics.Reported += e =>
        {
            diagnostics.Enqueue(e);
            if (e.Kind == DiagnosticKind.BudgetOverrun) release.Set();
        };
        var o = await rt.RunAsync(async cx =>
        {
            var h = cx.Spawn("busy-loop", cx =>
            {
                // A synchronous loop that never awaits the runtime: no checkpoint, cannot be stopped.
                release.Wait(TestRuntime.HangGuard);
                return Task.CompletedTask;
            });
            await cx.WaitStartedAsync(h);
            h.Cancel(Budget.Timeout(TimeSpan.FromMilliseconds(10)));
            return await h.JoinAsync(cx);
        }).WaitAsync(TestRuntime.HangGuard);
        var d = Assert.Single(diagnostics, e => e.Kind == DiagnosticKind.BudgetOverrun);
        Assert.Equal("busy-loop", d.TaskName);
        Assert.Contains("did not reach a checkpoint", d.Message);
        // It finished on its own, after the cancel: the outcome is still Cancelled (join of Ok and Cancelled).
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
    }

    [Fact]
    public async Task JoinWait_IsCancelSafe_JoinedTaskKeepsRunning()
    {
        bool childFinished = false;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            // The child finishes only when the test lets it (a 30 ms sleep finished first on a loaded machine).
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var child = cx.Spawn("child", async cx => { await cx.AwaitAsync(gate.Task); childFinished = true; return 5; });
            var joiner = cx.Spawn("joiner", async cx => await child.JoinAsync(cx));
            await cx.WaitStartedAsync(joiner);
            joiner.Cancel();
            var j = await joiner.JoinAsync(cx);
            Assert.Equal(OutcomeKind.Cancelled, j.Kind);
            Assert.False(childFinished);
            gate.SetResult();
            return await child.ValueAsync(cx);
        }));
        Assert.Equal(5, o.Value.Value);
        Assert.True(childFinished);
    }

    [Fact]
    public async Task CancellationToken_FiresOnCancelRequest_AndOceMapsToCancelled()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("bridge", async cx =>
            {
                var token = cx.CancellationToken;
                // A .NET API that honours the token; awaited through the runtime so the protocol applies.
                var tcs = new TaskCompletionSource();
                using var reg = token.Register(() => tcs.TrySetCanceled(token));
                await cx.AwaitAsync(tcs.Task);
            });
            await cx.WaitStartedAsync(h);
            h.Cancel(message: "bridge me");
            return await h.JoinAsync(cx);
        });
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
        Assert.Equal("bridge me", o.Value.CancelReason!.Message);
    }

    [Fact]
    public async Task CancellationToken_IsAlreadyCancelled_WhenTakenAfterTheRequest()
    {
        var o = await TestRuntime.RunAsync(cx =>
        {
            using (cx.Mask())
            {
                cx.CancelRegion();
                return Task.FromResult(cx.CancellationToken.IsCancellationRequested);
            }
        });
        Assert.Equal(OutcomeKind.Cancelled, o.Kind);
    }

    [Fact]
    public async Task AwaitPlainTask_IsInterruptedByCancel()
    {
        var never = new TaskCompletionSource<int>();
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("waiter", async cx => await cx.AwaitAsync(never.Task));
            await cx.WaitStartedAsync(h);
            h.Cancel();
            return await h.JoinAsync(cx);
        });
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
    }

    [Fact]
    public async Task PlainAwait_ResumesThroughTheTasksContext()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var before = SynchronizationContext.Current;
            await Task.Yield();
            var afterYield = SynchronizationContext.Current;
            await Task.Delay(1); // a foreign timer completion: must come back through the driver
            var afterDelay = SynchronizationContext.Current;
            return before is not null && ReferenceEquals(before, afterYield) && ReferenceEquals(before, afterDelay);
        });
        Assert.True(o.Value);
    }

    [Fact]
    public async Task CancelPropagation_ReachesEveryDescendant()
    {
        int cancelled = 0, started = 0;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("top", async cx =>
        {
            for (int i = 0; i < 5; i++)
            {
                cx.Spawn("mid" + i, cx => cx.RegionAsync("sub", async cx =>
                {
                    for (int j = 0; j < 5; j++)
                    {
                        cx.Spawn("leaf", async cx =>
                        {
                            try
                            {
                                Interlocked.Increment(ref started);
                                await cx.SleepAsync(TimeSpan.FromHours(1));
                            }
                            catch (CancelledException) { Interlocked.Increment(ref cancelled); throw; }
                        });
                    }
                    await cx.SleepAsync(TimeSpan.FromHours(1));
                }));
            }
            // Every leaf is inside its try before the cancel (a fixed 20 ms sleep was not enough on a loaded machine).
            while (Volatile.Read(ref started) < 25) await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
            cx.CancelRegion("stop all");
        }));
        Assert.Equal(25, cancelled);
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
    }
}

public class AcknowledgeCancelTests
{
    [Fact]
    public async Task AcknowledgeCancel_DrainsWithoutAnException()
    {
        var log = new ConcurrentQueue<string>();
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("polite", async cx =>
            {
                Assert.Null(cx.AcknowledgeCancel()); // nothing pending: no change
                Assert.Equal(TaskState.Running, cx.State);
                using (cx.Mask())
                {
                    cx.CancelRegion("stop");
                    await cx.YieldAsync();
                }
                var reason = cx.AcknowledgeCancel();
                log.Enqueue("acknowledged " + reason!.Kind);
                Assert.Equal(TaskState.Cancelling, cx.State);
                await cx.SleepAsync(TimeSpan.FromMilliseconds(1)); // draining: does not raise
                cx.Checkpoint();
                log.Enqueue("drained");
                return 1;
            });
            return await h.JoinAsync(cx);
        });
        Assert.Equal(["acknowledged User", "drained"], log.ToArray());
        Assert.Equal(OutcomeKind.Cancelled, o.Kind); // the root region itself was cancelled by CancelRegion
    }
}
