using System.Collections.Concurrent;

namespace Asupersync.Tests;

public class RegionTests
{
    [Fact]
    public async Task Region_DoesNotCloseBeforeEveryChildCompleted()
    {
        int finished = 0;
        int observedAtClose = -1;
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var r = await cx.RegionAsync("r", async cx =>
            {
                for (int i = 0; i < 20; i++)
                {
                    int delay = i;
                    // Handles are dropped on purpose: the region still owns the tasks.
                    cx.Spawn("child" + i, async cx =>
                    {
                        await cx.SleepAsync(TimeSpan.FromMilliseconds(delay));
                        await cx.YieldAsync();
                        Interlocked.Increment(ref finished);
                    });
                }
                await Task.CompletedTask;
            });
            observedAtClose = Volatile.Read(ref finished);
            return r;
        });
        Assert.True(o.IsOk);
        Assert.True(o.Value.IsOk);
        Assert.Equal(20, observedAtClose);
    }

    [Fact]
    public async Task Region_ReturnsBodyValue()
    {
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            var h = cx.Spawn("child", async cx => { await cx.YieldAsync(); return 20; });
            return await h.ValueAsync(cx) + 22;
        }));
        Assert.Equal(42, o.Value.Value);
    }

    [Fact]
    public async Task Finalizers_RunOnceLifoAfterChildren()
    {
        var log = new ConcurrentQueue<string>();
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            cx.Defer(() => log.Enqueue("f1"));
            cx.Defer(async cx => { await cx.SleepAsync(TimeSpan.FromMilliseconds(1)); log.Enqueue("f2"); });
            cx.Defer(() => log.Enqueue("f3"));
            cx.Spawn("child", async cx => { await cx.SleepAsync(TimeSpan.FromMilliseconds(20)); log.Enqueue("child"); });
            await Task.CompletedTask;
        }));
        Assert.True(o.Value.IsOk);
        Assert.Equal(["child", "f3", "f2", "f1"], log.ToArray());
    }

    [Fact]
    public async Task Finalizers_RunOnCancelAndOnPanic()
    {
        var log = new ConcurrentQueue<string>();
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var cancelled = await cx.RegionAsync("cancelled", async cx =>
            {
                cx.Defer(() => log.Enqueue("cancelled-fin"));
                cx.CancelRegion("stop");
                await cx.SleepAsync(TimeSpan.FromHours(1));
            });
            var panicked = await cx.RegionAsync("panicked", async cx =>
            {
                cx.Defer(() => log.Enqueue("panicked-fin"));
                await cx.YieldAsync();
                throw new InvalidOperationException("boom");
            });
            return (cancelled, panicked);
        });
        Assert.Equal(OutcomeKind.Cancelled, o.Value.cancelled.Kind);
        Assert.Equal(OutcomeKind.Panicked, o.Value.panicked.Kind);
        Assert.IsType<InvalidOperationException>(o.Value.panicked.Exception);
        Assert.Equal(["cancelled-fin", "panicked-fin"], log.ToArray());
    }

    [Fact]
    public async Task ThrowingFinalizer_DoesNotStopOthers_AndMakesRegionPanicked()
    {
        var ran = new ConcurrentQueue<int>();
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            cx.Defer(() => ran.Enqueue(1));
            cx.Defer(() => throw new InvalidOperationException("fin"));
            cx.Defer(() => ran.Enqueue(3));
            await Task.CompletedTask;
        }));
        Assert.Equal([3, 1], ran.ToArray());
        Assert.Equal(OutcomeKind.Panicked, o.Value.Kind);
    }

    [Fact]
    public async Task FailFast_CancelsSiblingsWithFailFast_AndReportsTheError()
    {
        CancelReason? siblingReason = null;
        int siblingStarted = 0;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            cx.Spawn("sibling", async cx =>
            {
                Volatile.Write(ref siblingStarted, 1);
                try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                catch (CancelledException e) { siblingReason = e.Reason; throw; }
            });
            cx.Spawn("failer", async cx =>
            {
                // A sibling cancelled before its first step never runs its body: fail only once it is running
                // (on a loaded machine 5 ms can pass before it starts).
                while (Volatile.Read(ref siblingStarted) == 0) await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
                await cx.SleepAsync(TimeSpan.FromMilliseconds(5));
                throw new TaskErrorException("bad input");
            });
            await cx.SleepAsync(TimeSpan.FromHours(1));
        }));
        Assert.Equal(OutcomeKind.Err, o.Value.Kind);
        Assert.Equal("bad input", o.Value.Error!.Message);
        Assert.NotNull(siblingReason);
        Assert.Equal(CancelKind.FailFast, siblingReason!.Kind);
    }

    [Fact]
    public async Task CollectAll_LetsSiblingsFinish()
    {
        bool siblingFinished = false;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            cx.Spawn("sibling", async cx => { await cx.SleepAsync(TimeSpan.FromMilliseconds(30)); siblingFinished = true; });
            cx.Spawn("failer", async cx => { await cx.YieldAsync(); throw new TaskErrorException("bad"); });
            await Task.CompletedTask;
        }, new RegionOptions { Policy = RegionPolicy.CollectAll }));
        Assert.True(siblingFinished);
        Assert.Equal(OutcomeKind.Err, o.Value.Kind);
    }

    [Fact]
    public async Task Panicked_OutranksErr_InRegionOutcome()
    {
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            cx.Spawn("err", async cx => { await cx.YieldAsync(); throw new TaskErrorException("e"); });
            cx.Spawn("panic", async cx => { await cx.YieldAsync(); throw new InvalidOperationException("p"); });
            await Task.CompletedTask;
        }, new RegionOptions { Policy = RegionPolicy.CollectAll }));
        Assert.Equal(OutcomeKind.Panicked, o.Value.Kind);
    }

    [Fact]
    public async Task HandleCancelledChild_DoesNotMakeRegionCancelled()
    {
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            var h = cx.Spawn("child", async cx => await cx.SleepAsync(TimeSpan.FromHours(1)));
            h.Cancel();
            var joined = await h.JoinAsync(cx);
            Assert.Equal(OutcomeKind.Cancelled, joined.Kind);
            return 7;
        }));
        Assert.True(o.Value.IsOk);
        Assert.Equal(7, o.Value.Value);
    }

    [Fact]
    public async Task MaxTasks_RejectsWithClearError()
    {
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("limited", async cx =>
        {
            var h1 = cx.Spawn("a", async cx => await cx.SleepAsync(TimeSpan.FromMilliseconds(10)));
            var ex = Assert.Throws<RegionLimitExceededException>(() => cx.Spawn("b", async cx => await cx.YieldAsync()));
            Assert.Contains("limited", ex.Message);
            await h1.JoinAsync(cx);
        }, new RegionOptions { MaxTasks = 2 })); // the body counts as one task
        Assert.True(o.Value.IsOk);
    }

    [Fact]
    public async Task CancelledRegion_RejectsSpawn()
    {
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            using (cx.Mask())
            {
                cx.CancelRegion("stop");
                var ex = Assert.Throws<RegionClosedException>(() => cx.Spawn("late", async cx => await cx.YieldAsync()));
                Assert.Equal(RegionState.Draining, ex.State);
            }
            await Task.CompletedTask;
        }));
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
    }

    [Fact]
    public async Task NarrowedCx_CannotSpawnOrReadTime()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var pure = cx.Narrow(Capabilities.None);
            var e1 = Assert.Throws<CapabilityException>(() => pure.Spawn("x", async cx => await cx.YieldAsync()));
            Assert.Equal(Capabilities.Spawn, e1.Missing);
            Assert.Throws<CapabilityException>(() => pure.Now);
            Assert.Throws<CapabilityException>(() => pure.NextRandom());
            // Narrowing is never widening.
            var back = pure.Narrow(Capabilities.All);
            Assert.Equal(Capabilities.None, back.Capabilities);
            // Children inherit the narrowed set.
            var noTime = cx.Narrow(Capabilities.All & ~Capabilities.Time);
            var h = noTime.Spawn("child", cx => Task.FromResult(cx.Capabilities));
            return await h.ValueAsync(cx);
        });
        Assert.Equal(Capabilities.All & ~Capabilities.Time, o.Value);
    }

    [Fact]
    public async Task ChildDeadline_NeverExceedsParents()
    {
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("outer", async cx =>
        {
            var parentDeadline = cx.Budget.Deadline!.Value;
            var h = cx.Spawn("child", cx => Task.FromResult(cx.Budget.Deadline), Budget.Timeout(TimeSpan.FromHours(10)));
            var inner = await cx.RegionAsync("inner", cx => Task.FromResult(cx.Budget.Deadline), new RegionOptions { Budget = Budget.Timeout(TimeSpan.FromHours(10)) });
            return (parentDeadline, child: await h.ValueAsync(cx), inner: inner.Value);
        }, new RegionOptions { Budget = Budget.Timeout(TimeSpan.FromSeconds(30)) }));
        var (parent, child, inner) = o.Value.Value;
        Assert.True(child <= parent);
        Assert.True(inner <= parent);
    }

    [Fact]
    public async Task RegionDeadline_CancelsWholeRegionWithTimeout()
    {
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            cx.Spawn("child", async cx => await cx.SleepAsync(TimeSpan.FromHours(1)));
            await cx.SleepAsync(TimeSpan.FromHours(1));
        }, new RegionOptions { Budget = Budget.Timeout(TimeSpan.FromMilliseconds(20)) }));
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
        Assert.Equal(CancelKind.Timeout, o.Value.CancelReason!.Kind);
    }

    [Fact]
    public async Task CancellingOwner_PropagatesParentCancelledIntoItsRegions()
    {
        CancelReason? grandchildReason = null;
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var started = new TaskCompletionSource();
            var owner = cx.Spawn("owner", async cx =>
            {
                await cx.RegionAsync("inner", async cx =>
                {
                    cx.Spawn("grandchild", async cx =>
                    {
                        try
                        {
                            started.TrySetResult();
                            await cx.SleepAsync(TimeSpan.FromHours(1));
                        }
                        catch (CancelledException e) { grandchildReason = e.Reason; throw; }
                    });
                    await cx.SleepAsync(TimeSpan.FromHours(1));
                });
                await cx.SleepAsync(TimeSpan.FromHours(1));
            });
            await cx.AwaitAsync(started.Task);
            owner.Cancel(message: "stop owner");
            return await owner.JoinAsync(cx);
        });
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
        Assert.Equal(CancelKind.ParentCancelled, grandchildReason!.Kind);
        Assert.NotNull(grandchildReason.Cause);
    }
}

public class RegionBookkeepingTests
{
    [Fact]
    public async Task LongLivedRegion_WithChurn_KeepsItsTaskListBounded()
    {
        int maxLength = 0;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("server", async cx =>
        {
            for (int i = 0; i < 5000; i++)
            {
                var h = cx.Spawn("conn", async cx => { await cx.YieldAsync(); return i; });
                await h.JoinAsync(cx);
                maxLength = Math.Max(maxLength, cx.Region.TaskListLength);
            }
        }));
        Assert.True(o.Value.IsOk);
        // Completed tasks are pruned lazily: the list never grows past about twice the live tasks plus a constant.
        Assert.InRange(maxLength, 1, 2 * 2 + 66);
    }

    [Fact]
    public async Task RegionCancel_CleanupOverrun_RaisesAgainAndIsReported()
    {
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Runtime? rt = null;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("r", async cx =>
        {
            var h = cx.Spawn("stubborn", async cx =>
            {
                try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                catch (CancelledException)
                {
                    try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                    catch (CancelledException e) { log.Enqueue(e.Reason.Message ?? ""); }
                    throw;
                }
            });
            await cx.WaitStartedAsync(h);
            cx.CancelRegion("stop", Budget.Timeout(TimeSpan.FromMilliseconds(20)));
            await cx.SleepAsync(TimeSpan.FromHours(1));
        }), inspect: r => rt = r);
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
        Assert.Equal(["cleanup budget exhausted"], log.ToArray());
        Assert.Contains(rt!.Diagnostics.Recent, e => e.Kind == DiagnosticKind.BudgetOverrun && e.TaskName == "stubborn");
    }
}

public class RegionInCleanupTests
{
    [Fact]
    public async Task DrainingTask_CanOpenARegion_ForCleanup()
    {
        bool flushed = false;
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("t", async cx =>
            {
                try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                finally
                {
                    var r = await cx.RegionAsync("flush", async c =>
                    {
                        await c.YieldAsync();
                        flushed = true;
                        return c.Budget.Deadline;
                    });
                    // The cleanup region runs, bounded by the owner's cleanup deadline.
                    Assert.True(r.IsOk, r.ToString());
                    Assert.NotNull(r.Value);
                }
            });
            await cx.WaitStartedAsync(h);
            h.Cancel(Budget.Timeout(TimeSpan.FromSeconds(10)));
            return await h.JoinAsync(cx);
        });
        Assert.True(flushed);
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
    }

    [Fact]
    public async Task CleanupRegion_IsCutOffAtTheOwnersCleanupDeadline()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var h = cx.Spawn("t", async cx =>
            {
                try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                finally
                {
                    var r = await cx.RegionAsync("slow-flush", async c => await c.SleepAsync(TimeSpan.FromHours(1)));
                    Assert.Equal(OutcomeKind.Cancelled, r.Kind);
                    Assert.Equal(CancelKind.Deadline, r.CancelReason!.Kind);
                }
            });
            await cx.WaitStartedAsync(h);
            h.Cancel(Budget.Timeout(TimeSpan.FromMilliseconds(30)));
            return await h.JoinAsync(cx);
        });
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
    }

    [Fact]
    public async Task RefusedRegionBody_LeavesNoHalfOpenRegion()
    {
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("parent", async cx =>
        {
            var ex = await Assert.ThrowsAsync<RegionLimitExceededException>(() =>
                cx.RegionAsync("child", c => Task.CompletedTask, new RegionOptions { MaxTasks = 0 }));
            Assert.Contains("child", ex.Message);
            return 1; // the parent still closes: nothing half-open is left owned by this task
        }));
        Assert.Equal(1, o.Value.Value);
    }
}

public class RegionChurnTests
{
    [Fact]
    public async Task ManySequentialChildRegions_AreNotRetainedByTheParent()
    {
        int maxChildren = 0;
        var o = await TestRuntime.RunAsync(cx => cx.RegionAsync("connection", async cx =>
        {
            for (int i = 0; i < 2000; i++)
            {
                var r = await cx.RegionAsync("request", cx => Task.FromResult(i));
                Assert.Equal(i, r.Value);
                maxChildren = Math.Max(maxChildren, cx.Region.Children.Count);
            }
        }));
        Assert.True(o.Value.IsOk);
        Assert.Equal(0, maxChildren); // each request region is gone from the parent once closed
    }
}
