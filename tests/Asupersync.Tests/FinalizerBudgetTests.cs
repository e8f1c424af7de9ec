using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Asupersync.Lab;

namespace Asupersync.Tests;

/// <summary>
/// Region finalizers run masked and LIFO under the cleanup budget of the cancel that reached the region (or the
/// region's own deadline): a finalizer still running when it runs out is cancelled at its next checkpoint and
/// reported by its own name; the owner parked in RegionAsync is not blamed; the region closes within the budget
/// plus scheduling; nothing is orphaned. Lab (virtual time, many seeds) and production.
/// </summary>
public class FinalizerBudgetTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    /// <summary>An owner opens region 'r' whose finalizer awaits an hour; the owner is cancelled (Shutdown) with <paramref name="budget"/>.</summary>
    private static async Task<Outcome<Unit>> HourLongFinalizerUnderShutdown(Cx cx, TimeSpan budget, ConcurrentQueue<string> log)
    {
        var ready = new StrongBox<bool>();
        var owner = cx.Spawn("owner", async cx =>
        {
            await cx.RegionAsync("r", async cx =>
            {
                cx.Defer(async fcx =>
                {
                    try { await fcx.SleepAsync(Hour); log.Enqueue("finalizer slept an hour"); }
                    catch (CancelledException) { log.Enqueue("finalizer cancelled"); throw; }
                });
                Volatile.Write(ref ready.Value, true);
                await cx.SleepAsync(2 * Hour);
            });
        });
        while (!Volatile.Read(ref ready.Value)) await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
        owner.Cancel(new CancelReason(CancelKind.Shutdown, "stop"), Budget.Timeout(budget));
        return await owner.JoinAsync(cx);
    }

    [Fact]
    public void Lab_HourLongFinalizer_IsCutAtTheShutdownBudget_AndNamed_OwnerNotBlamed()
    {
        for (ulong seed = 0; seed < 20; seed++)
        {
            var log = new ConcurrentQueue<string>();
            RuntimeDiagnostics? diag = null;
            Outcome<Unit>? ownerOutcome = null;
            var r = LabRuntime.Run(seed, async cx => ownerOutcome = await HourLongFinalizerUnderShutdown(cx, TimeSpan.FromSeconds(1), log),
                LabOptions.Default with { ConfigureRuntime = rt => diag = rt.Diagnostics });

            // Closed within the budget (virtual time: the cancel within 1 ms, the budget 1 s), not after an hour.
            Assert.True(r.VirtualTime <= TimeSpan.FromMilliseconds(1001), $"seed {seed}: {r.VirtualTime}");
            Assert.Equal(["finalizer cancelled"], log.ToArray());
            Assert.Equal(OutcomeKind.Cancelled, ownerOutcome!.Value.Kind);
            // The one failure is the finalizer's overrun; no leak, no orphan, no quiescence or finalizer finding.
            var f = Assert.Single(r.OracleFailures);
            Assert.Equal(LabOracles.BudgetOverrun, f.Oracle);
            Assert.Contains("finalizer #0 of region 'r'", f.Message);
            var d = Assert.Single(diag!.Recent, e => e.Kind == DiagnosticKind.BudgetOverrun);
            Assert.Equal("finalizer #0 of region 'r'", d.TaskName);
            Assert.Equal("r", d.RegionName);
            Assert.DoesNotContain("owner", d.Message);
        }
    }

    [Fact]
    public async Task Production_HourLongFinalizer_IsCutAtTheShutdownBudget_AndNamed_OwnerNotBlamed()
    {
        var log = new ConcurrentQueue<string>();
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        var o = await rt.RunAsync(cx => HourLongFinalizerUnderShutdown(cx, TimeSpan.FromMilliseconds(50), log)).WaitAsync(TestRuntime.HangGuard);
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
        Assert.Equal(["finalizer cancelled"], log.ToArray());
        var d = Assert.Single(rt.Diagnostics.Recent, e => e.Kind == DiagnosticKind.BudgetOverrun);
        Assert.Equal("finalizer #0 of region 'r'", d.TaskName);
        Assert.Equal("r", d.RegionName);
        Assert.DoesNotContain("owner", d.Message);
        Assert.Equal(1, rt.Diagnostics.BudgetOverruns);
    }

    [Fact]
    public void Lab_CancelLandingAnywhere_BoundsFinalizers_NamesThem_NeverTheOwner()
    {
        // Across seeds the cancel lands while the body runs, while another task drains, or while the finalizers
        // run; in every case the region closes within the budget and only finalizers are blamed.
        int cutFinalizers = 0;
        for (ulong seed = 0; seed < 40; seed++)
        {
            RuntimeDiagnostics? diag = null;
            bool registered = false;
            var r = LabRuntime.Run(seed, async cx =>
            {
                var owner = cx.Spawn("owner", cx => cx.RegionAsync("r", async cx =>
                {
                    cx.Defer(async fcx => await fcx.SleepAsync(Hour), name: "slow-1");
                    cx.Defer(() => { }, name: "sync");
                    cx.Defer(async fcx => await fcx.SleepAsync(Hour), name: "slow-2");
                    registered = true;
                    cx.Spawn("worker", async cx => { for (int i = 0; i < 3; i++) await cx.YieldAsync(); });
                    for (int i = 0; i < 3; i++) await cx.YieldAsync();
                }));
                for (int i = 0; i < (int)(seed % 8); i++) await cx.YieldAsync();
                owner.Cancel(Budget.Timeout(TimeSpan.FromSeconds(1)));
                await owner.JoinAsync(cx);
            }, LabOptions.Default with { ConfigureRuntime = rt => diag = rt.Diagnostics });
            Assert.True(r.VirtualTime <= TimeSpan.FromSeconds(1), $"seed {seed}: {r.Describe()}");
            Assert.All(r.OracleFailures, f => Assert.Equal(LabOracles.BudgetOverrun, f.Oracle));
            var blamed = diag!.Recent.Where(e => e.Kind == DiagnosticKind.BudgetOverrun).Select(e => e.TaskName).ToList();
            Assert.All(blamed, n => Assert.StartsWith("slow-", n, StringComparison.Ordinal));
            if (!registered) continue; // the cancel landed before the region body ran: nothing to finalize
            Assert.Contains("slow-2", blamed); // the first finalizer to run waits an hour: it is always cut
            cutFinalizers += blamed.Count;
        }
        Assert.True(cutFinalizers >= 20, $"only {cutFinalizers} finalizers were cut over 40 seeds");
    }

    [Fact]
    public void Lab_LaterFinalizersStillRunLifo_ButCannotWaitOnceTheBudgetIsSpent()
    {
        for (ulong seed = 0; seed < 10; seed++)
        {
            var log = new List<string>();
            RuntimeDiagnostics? diag = null;
            var r = LabRuntime.Run(seed, async cx =>
            {
                var owner = cx.Spawn("owner", cx => cx.RegionAsync("r", async cx =>
                {
                    cx.Defer(() => log.Add("sync A"));                                          // #0, runs last
                    cx.Defer(async fcx =>                                                       // #1
                    {
                        log.Add("B starts");
                        try { await fcx.SleepAsync(TimeSpan.FromMilliseconds(1)); log.Add("B slept"); }
                        catch (CancelledException) { log.Add("B refused"); }
                    }, name: "B");
                    cx.Defer(async fcx =>                                                       // #2, runs first
                    {
                        try { await fcx.SleepAsync(Hour); }
                        catch (CancelledException) { log.Add("C cut"); }
                        try { await fcx.SleepAsync(Hour); log.Add("C slept"); }             // never an unbounded wait
                        catch (CancelledException) { log.Add("C refused again"); }
                        try { await fcx.YieldAsync(); log.Add("C yielded"); }
                        catch (CancelledException) { log.Add("C refused a third time"); }
                    }, name: "C");
                    await cx.SleepAsync(Hour);
                }));
                await cx.SleepAsync(TimeSpan.FromSeconds(1));
                owner.Cancel(Budget.Timeout(TimeSpan.FromSeconds(1)));
                await owner.JoinAsync(cx);
            }, LabOptions.Default with { ConfigureRuntime = rt => diag = rt.Diagnostics });

            Assert.Equal(["C cut", "C refused again", "C refused a third time", "B starts", "B refused", "sync A"], log);
            Assert.True(r.VirtualTime <= TimeSpan.FromSeconds(2), $"seed {seed}: {r.VirtualTime}");
            // Both cut finalizers are named; the synchronous one that did not need to wait is not reported.
            var names = diag!.Recent.Where(e => e.Kind == DiagnosticKind.BudgetOverrun).Select(e => e.TaskName).OrderBy(n => n).ToArray();
            Assert.Equal(["B", "C"], names);
            Assert.Contains(diag.Recent, e => e.Kind == DiagnosticKind.BudgetOverrun && e.Message.StartsWith("finalizer 'C' of region 'r'", StringComparison.Ordinal));
            Assert.All(r.OracleFailures, f => Assert.Equal(LabOracles.BudgetOverrun, f.Oracle));
        }
    }

    [Fact]
    public void Lab_FinalizerWithinBudget_RunsToCompletion_Masked()
    {
        for (ulong seed = 0; seed < 10; seed++)
        {
            var log = new List<string>();
            var r = LabRuntime.Run(seed, async cx =>
            {
                var owner = cx.Spawn("owner", cx => cx.RegionAsync("r", async cx =>
                {
                    cx.Defer(async fcx =>
                    {
                        await fcx.SleepAsync(TimeSpan.FromSeconds(1)); // the cancel is pending but masked: no raise
                        log.Add(fcx.IsCancelRequested ? "flushed under a pending cancel" : "flushed");
                    });
                    await cx.SleepAsync(Hour);
                }));
                await cx.SleepAsync(TimeSpan.FromSeconds(1));
                owner.Cancel(Budget.Timeout(TimeSpan.FromSeconds(10)));
                await owner.JoinAsync(cx);
            });
            Assert.True(r.Passed, r.Describe());
            Assert.Equal(["flushed under a pending cancel"], log);
        }
    }

    [Fact]
    public void Lab_FinalizerToken_FiresWhenItsBudgetIsSpent_NotWhenTheCancelIsRequested()
    {
        var log = new List<string>();
        var r = LabRuntime.Run(4, async cx =>
        {
            var owner = cx.Spawn("owner", cx => cx.RegionAsync("r", async cx =>
            {
                cx.Defer(async fcx =>
                {
                    var token = fcx.CancellationToken;
                    log.Add($"start: cancel requested {fcx.IsCancelRequested}, token {token.IsCancellationRequested}");
                    try { await fcx.SleepAsync(Hour); }
                    catch (CancelledException) { log.Add($"cut: token {token.IsCancellationRequested}"); }
                });
                await cx.SleepAsync(Hour);
            }));
            await cx.SleepAsync(TimeSpan.FromSeconds(1));
            owner.Cancel(Budget.Timeout(TimeSpan.FromSeconds(1)));
            await owner.JoinAsync(cx);
        });
        Assert.Equal(["start: cancel requested True, token False", "cut: token True"], log);
        Assert.Single(r.OracleFailures, f => f.Oracle == LabOracles.BudgetOverrun);
    }

    [Fact]
    public void Lab_CancelArrivingWhileFinalizing_BoundsTheRunningFinalizer()
    {
        for (ulong seed = 0; seed < 10; seed++)
        {
            var log = new List<string>();
            var r = LabRuntime.Run(seed, async cx =>
            {
                // The region closes normally: its finalizer starts unbounded, then the owner's cancel reaches it.
                var owner = cx.Spawn("owner", cx => cx.RegionAsync("r", cx =>
                {
                    cx.Defer(async fcx =>
                    {
                        try { await fcx.SleepAsync(Hour); log.Add("slept"); }
                        catch (CancelledException) { log.Add("cut at " + fcx.Now.TotalSeconds + " s"); throw; }
                    });
                    return Task.CompletedTask;
                }));
                await cx.SleepAsync(TimeSpan.FromSeconds(10));
                owner.Cancel(Budget.Timeout(TimeSpan.FromSeconds(2)));
                await owner.JoinAsync(cx);
            });
            Assert.Equal(["cut at 12 s"], log);
            var f = Assert.Single(r.OracleFailures);
            Assert.Equal(LabOracles.BudgetOverrun, f.Oracle);
            Assert.Contains("finalizer #0 of region 'r'", f.Message);
        }
    }

    [Fact]
    public void Lab_RegionDeadline_BoundsItsFinalizers()
    {
        var log = new List<string>();
        RuntimeDiagnostics? diag = null;
        Outcome<Unit>? region = null;
        var r = LabRuntime.Run(3, async cx =>
        {
            region = await cx.RegionAsync("r", cx =>
            {
                cx.Defer(async fcx =>
                {
                    try { await fcx.SleepAsync(Hour); log.Add("slept"); }
                    catch (CancelledException) { log.Add("cut"); throw; }
                });
                return Task.CompletedTask;
            }, new RegionOptions { Budget = Budget.Timeout(TimeSpan.FromSeconds(5)) });
        }, LabOptions.Default with { ConfigureRuntime = rt => diag = rt.Diagnostics });
        Assert.Equal(["cut"], log);
        // The deadline (5 s) cancels the region; its finalizer then gets the Timeout tier's cleanup allowance.
        Assert.Equal(TimeSpan.FromSeconds(5) + CancelReason.DefaultCleanupAllowance(CancelKind.Timeout), r.VirtualTime);
        Assert.Equal(CancelKind.Timeout, region!.Value.CancelReason!.Kind);
        Assert.Contains(diag!.Recent, e => e.Kind == DiagnosticKind.BudgetOverrun && e.TaskName == "finalizer #0 of region 'r'");
    }

    [Fact]
    public void Lab_FinalizerOfAnAlreadyOverrunRegion_StillRuns_AndIsNotBlamedForSyncWork()
    {
        var log = new List<string>();
        RuntimeDiagnostics? diag = null;
        var r = LabRuntime.Run(5, async cx =>
        {
            var owner = cx.Spawn("owner", cx => cx.RegionAsync("r", async cx =>
            {
                cx.Defer(() => log.Add("released the handle"));
                _ = cx.Spawn("stubborn", async cx =>
                {
                    try { await cx.SleepAsync(Hour); }
                    finally { using (cx.Mask()) { try { await cx.SleepAsync(Hour); } catch (CancelledException) { } } }
                });
                await cx.SleepAsync(Hour);
            }));
            await cx.SleepAsync(TimeSpan.FromSeconds(1));
            owner.Cancel(Budget.Timeout(TimeSpan.FromSeconds(1)));
            await owner.JoinAsync(cx);
        }, LabOptions.Default with { ConfigureRuntime = rt => diag = rt.Diagnostics });
        Assert.Equal(["released the handle"], log);
        var d = Assert.Single(diag!.Recent, e => e.Kind == DiagnosticKind.BudgetOverrun);
        Assert.Equal("stubborn", d.TaskName);
        Assert.True(r.VirtualTime <= TimeSpan.FromSeconds(2), r.Describe());
    }

    [Fact]
    public async Task Production_FinalizerThatNeverCheckpoints_IsReported_AndTheRegionWaitsForIt()
    {
        using var release = new ManualResetEventSlim(false);
        bool finished = false;
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        // Only the finalizer's overrun releases it (on a loaded machine the owner's body may overrun its 20 ms too).
        rt.Diagnostics.Reported += e => { if (e.Kind == DiagnosticKind.BudgetOverrun && e.TaskName == "blocking-flush") release.Set(); };
        var o = await rt.RunAsync(async cx =>
        {
            var ready = new StrongBox<bool>();
            var owner = cx.Spawn("owner", cx => cx.RegionAsync("r", async cx =>
            {
                cx.Defer(() =>
                {
                    release.Wait(TestRuntime.HangGuard); // synchronous: no checkpoint, cannot be stopped
                    finished = true;
                }, name: "blocking-flush");
                Volatile.Write(ref ready.Value, true);
                await cx.SleepAsync(Hour);
            }));
            while (!Volatile.Read(ref ready.Value)) await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
            owner.Cancel(Budget.Timeout(TimeSpan.FromMilliseconds(20)));
            return await owner.JoinAsync(cx);
        }).WaitAsync(TestRuntime.HangGuard);
        Assert.True(finished); // never an orphan: the region (and the owner) waited for it
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
        var d = Assert.Single(rt.Diagnostics.Recent, e => e.Kind == DiagnosticKind.BudgetOverrun && e.TaskName == "blocking-flush");
        Assert.Contains("finalizer 'blocking-flush' of region 'r'", d.Message);
    }

    [Fact]
    public async Task Production_FinalizersStillRunLifo_EachOnce_OnOkCancelAndPanic()
    {
        var log = new ConcurrentQueue<string>();
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var ok = await cx.RegionAsync("ok", cx =>
            {
                cx.Defer(() => log.Enqueue("ok-1"));
                cx.Defer(async fcx => { await fcx.YieldAsync(); log.Enqueue("ok-2"); });
                cx.Defer(() => log.Enqueue("ok-3"));
                return Task.CompletedTask;
            });
            var panicked = await cx.RegionAsync("panicked", cx =>
            {
                cx.Defer(() => log.Enqueue("p-1"));
                cx.Defer(() => throw new InvalidOperationException("finalizer bug"));
                return Task.CompletedTask;
            });
            return (ok.Kind, panicked.Kind);
        });
        Assert.Equal((OutcomeKind.Ok, OutcomeKind.Panicked), o.Value);
        Assert.Equal(["ok-3", "ok-2", "ok-1", "p-1"], log.ToArray());
    }
}
