using Asupersync.Lab;

namespace Asupersync.Sagas.Tests;

/// <summary>The saga runner: forward, LIFO compensation, cancel, retry, CompensationFailed — mostly under the Lab (virtual time).</summary>
public class SagaRunTests
{
    private static readonly TimeSpan Ms100 = TimeSpan.FromMilliseconds(100);

    private static LabRunResult Lab(Func<Cx, Task> program, ulong seed = 1)
    {
        var r = LabRuntime.Run(seed, program);
        Assert.True(r.Passed, r.Describe());
        return r;
    }

    private static SagaOpKind[] Seq(int n) => Enumerable.Repeat(SagaOpKind.Commit, n).ToArray();

    [Fact]
    public async Task AllStepsComplete_OkAndTheLogRecordsEveryTransition()
    {
        var ledger = new Ledger();
        var disk = new InMemorySagaLog();
        var saga = Sagas.Build("order", ledger, [SagaOpKind.Reserve, SagaOpKind.Send, SagaOpKind.Commit], TimeSpan.Zero);
        var o = await TestRuntime.RunAsync(cx => cx.SagaAsync(saga, new SagaOptions { Store = disk.Open(), SagaId = "o1", Input = "in" }));
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(SagaState.Completed, o.Value.State);
        Assert.Equal(["o1/0", "o1/1", "o1/2"], ledger.Applied.Select(e => e.Key).Order().ToArray());
        var log = disk.RecordsOf("o1");
        Assert.Equal(SagaTransition.SagaStarted, log[0].Transition);
        Assert.Equal(SagaTransition.SagaCompleted, log[^1].Transition);
        Assert.Equal(Enumerable.Range(1, log.Count).Select(i => (long)i), log.Select(r => r.Sequence));
        // Write-ahead: each step's Started precedes its Completed; the Commit step starts after both monotone steps completed.
        long Seq(SagaTransition t, int step) => log.Single(r => r.Transition == t && r.Step == step).Sequence;
        for (int i = 0; i < 3; i++) Assert.True(Seq(SagaTransition.StepStarted, i) < Seq(SagaTransition.StepCompleted, i));
        Assert.True(Seq(SagaTransition.StepStarted, 2) > Seq(SagaTransition.StepCompleted, 0));
        Assert.True(Seq(SagaTransition.StepStarted, 2) > Seq(SagaTransition.StepCompleted, 1));
        Assert.Equal(SagaState.Completed, disk.StateOf("o1"));
    }

    [Fact]
    public void ErrStep_CompensatesEveryStartedStep_InLifoOrder()
    {
        var ledger = new Ledger();
        ledger.FailAlways("x/3");
        var saga = Sagas.Build("s", ledger, Seq(5), Ms100);
        Outcome<SagaResult> o = default;
        Lab(async cx => o = await cx.SagaAsync(saga, new SagaOptions { SagaId = "x" }));
        var e = Assert.IsType<SagaAbortedException>(o.Error);
        Assert.Equal(SagaState.Compensated, e.Result.State);
        Assert.Equal("s3", e.Result.FailedStep);
        Assert.Contains("service refused x/3", e.Result.Cause, StringComparison.Ordinal);
        Assert.Equal([3, 2, 1, 0], ledger.CompensationOrder("x"));
        Assert.False(ledger.IsApplied("x/4")); // never started
        Assert.Equal([true, true, true, false, false], e.Result.Steps.Select(s => s.Completed));
        Assert.Equal([true, true, true, true, false], e.Result.Steps.Select(s => s.Compensated));
    }

    [Fact]
    public void PanickedStep_IsCompensated_AndTheOutcomeIsPanicked()
    {
        var ledger = new Ledger();
        var saga = Sagas.Build("p", ledger, Seq(2), Ms100)
            .Step("boom", (_, _) => throw new InvalidOperationException("bug"), null);
        Outcome<SagaResult> o = default;
        Lab(async cx => o = await cx.SagaAsync(saga, new SagaOptions { SagaId = "p" }));
        Assert.True(o.IsPanicked, o.ToString());
        Assert.IsType<InvalidOperationException>(o.Exception);
        Assert.Equal([1, 0], ledger.CompensationOrder("p"));
    }

    [Fact]
    public void MonotoneSteps_RunConcurrently_InAboutOneStepsLatency()
    {
        var ledger = new Ledger();
        var calm = Sagas.Build("calm", ledger, Enumerable.Repeat(SagaOpKind.Send, 20).ToArray(), Ms100);
        var r = Lab(async cx => Assert.True((await cx.SagaAsync(calm)).IsOk));
        Assert.InRange(r.VirtualTime, Ms100, Ms100 * 1.5);
        var r2 = Lab(async cx => Assert.True((await cx.SagaAsync(calm, new SagaOptions { Planning = SagaPlanning.Sequential })).IsOk));
        Assert.True(r2.VirtualTime >= Ms100 * 20, r2.VirtualTime.ToString());
        Assert.Equal(40, ledger.Calls.Count); // the same seed gives both runs the same saga id: the second is deduplicated
    }

    [Fact]
    public void NonMonotoneStep_WaitsAtItsBarrier_ForEveryEarlierStep()
    {
        var starts = new Dictionary<string, TimeSpan>();
        var saga = new Saga("barrier")
            .Step("fast", async (cx, _) => { starts["fast"] = cx.Now; await cx.SleepAsync(Ms100); }, null, SagaOpKind.Reserve)
            .Step("slow", async (cx, _) => { starts["slow"] = cx.Now; await cx.SleepAsync(Ms100 * 3); }, null, SagaOpKind.Send)
            .Step("commit", (cx, _) => { starts["commit"] = cx.Now; return Task.CompletedTask; }, null, SagaOpKind.Commit)
            .Step("after", (cx, _) => { starts["after"] = cx.Now; return Task.CompletedTask; }, null, SagaOpKind.Send);
        Lab(async cx => Assert.True((await cx.SagaAsync(saga)).IsOk));
        Assert.Equal(starts["fast"], starts["slow"]); // same stage, no barrier between them
        Assert.True(starts["commit"] >= starts["slow"] + Ms100 * 3);
        Assert.True(starts["after"] >= starts["commit"]);
    }

    [Fact]
    public void Cancel_DuringAStep_CompensatesStartedSteps_AndReturnsCancelled()
    {
        var ledger = new Ledger();
        var seen = new List<(int Step, bool Completed)>();
        var saga = new Saga("c")
            .Step("a", (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; }, (_, s) => { seen.Add((s.StepIndex, s.ActionCompleted)); ledger.Apply(s, 0); return Task.CompletedTask; })
            .Step("b", async (cx, s) => { await cx.SleepAsync(TimeSpan.FromSeconds(10)); ledger.Apply(s, 0); }, (_, s) => { seen.Add((s.StepIndex, s.ActionCompleted)); ledger.Apply(s, 0); return Task.CompletedTask; });
        Outcome<SagaResult> o = default;
        Lab(async cx =>
        {
            var h = cx.Spawn("caller", async cx => o = await cx.SagaAsync(saga, new SagaOptions { SagaId = "c" }));
            await cx.SleepAsync(TimeSpan.FromSeconds(1));
            h.Cancel(message: "user gave up");
            await h.JoinAsync(cx);
        });
        Assert.True(o.IsCancelled, o.ToString());
        Assert.Equal([(1, false), (0, true)], seen); // LIFO; b started but its completion is unknown
        Assert.False(ledger.IsApplied("c/1"));
        Assert.Equal([1, 0], ledger.CompensationOrder("c"));
    }

    [Fact]
    public void Cancel_DuringCompensation_DoesNotInterruptIt()
    {
        var ledger = new Ledger();
        ledger.FailAlways("d/1");
        bool finished = false;
        var saga = new Saga("d")
            .Step("a", (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; }, async (cx, s) =>
            {
                await cx.SleepAsync(TimeSpan.FromSeconds(2)); // the cancel lands here
                ledger.Apply(s, 0);
                finished = true;
            })
            .Step("b", (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; }, null);
        Outcome<SagaResult> o = default;
        Lab(async cx =>
        {
            var h = cx.Spawn("caller", async cx => o = await cx.SagaAsync(saga, new SagaOptions { SagaId = "d" }));
            await cx.SleepAsync(TimeSpan.FromSeconds(1));
            h.Cancel();
            await h.JoinAsync(cx);
        });
        Assert.True(finished);
        Assert.IsType<SagaAbortedException>(o.Error);
        Assert.Equal(SagaState.Compensated, ((SagaException)o.Error!).Result.State);
    }

    [Fact]
    public void Compensation_RetriesTransientFailures_WithBackoffOnTheRuntimeClock()
    {
        var ledger = new Ledger();
        ledger.FailAlways("r/1");
        ledger.FailNext("r/0/undo", 2);
        var saga = Sagas.Build("r", ledger, Seq(2), TimeSpan.Zero);
        Outcome<SagaResult> o = default;
        var retry = new RetryPolicy { MaxAttempts = 3, InitialBackoff = TimeSpan.FromSeconds(1), BackoffMultiplier = 2, MaxBackoff = TimeSpan.FromSeconds(10) };
        var r = Lab(async cx => o = await cx.SagaAsync(saga, new SagaOptions { SagaId = "r", CompensationRetry = retry }));
        Assert.Equal(SagaState.Compensated, ((SagaException)o.Error!).Result.State);
        Assert.Equal(3, ledger.Calls.Count(c => c == "r/0/undo"));
        Assert.Equal(TimeSpan.FromSeconds(3), r.VirtualTime); // 1 s + 2 s of backoff
    }

    [Fact]
    public void CompensationThatStillFails_EndsCompensationFailed_NamingTheStep_AndStopsThere()
    {
        var ledger = new Ledger();
        ledger.FailAlways("f/2");
        ledger.FailAlways("f/1/undo");
        var disk = new InMemorySagaLog();
        var saga = Sagas.Build("f", ledger, Seq(3), TimeSpan.Zero);
        Outcome<SagaResult> o = default;
        Lab(async cx => o = await cx.SagaAsync(saga, new SagaOptions { SagaId = "f", Store = disk.Open(), CompensationRetry = new RetryPolicy { MaxAttempts = 2, InitialBackoff = TimeSpan.Zero } }));
        var e = Assert.IsType<SagaCompensationFailedException>(o.Error);
        Assert.Equal("s1", e.Step);
        Assert.Contains("service refused f/1/undo", e.Message, StringComparison.Ordinal);
        Assert.Equal(SagaState.CompensationFailed, e.Result.State);
        Assert.Equal(2, ledger.Calls.Count(c => c == "f/1/undo"));
        Assert.Equal([2], ledger.CompensationOrder("f")); // step 0 stays applied: undoing it under a still-applied step 1 would be out of order
        Assert.Equal(SagaState.CompensationFailed, disk.StateOf("f"));
    }

    [Fact]
    public void CompensationFailed_IsReportedAsErr_EvenWhenTheSagaWasCancelled()
    {
        var ledger = new Ledger();
        ledger.FailAlways("g/0/undo");
        var saga = new Saga("g")
            .Step("a", (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; }, (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; })
            .Step("b", (cx, _) => cx.SleepAsync(TimeSpan.FromHours(1)).AsTask(), null);
        Outcome<SagaResult> o = default;
        Lab(async cx =>
        {
            var h = cx.Spawn("caller", async cx => o = await cx.SagaAsync(saga, new SagaOptions { SagaId = "g", CompensationRetry = new RetryPolicy { MaxAttempts = 1 } }));
            await cx.SleepAsync(TimeSpan.FromSeconds(1));
            h.Cancel();
            await h.JoinAsync(cx);
        });
        Assert.Equal("a", Assert.IsType<SagaCompensationFailedException>(o.Error).Step);
    }

    [Fact]
    public void Compensation_ThatNeverEnds_IsBoundedByTheCleanupBudget_AndLeftForRecovery()
    {
        var disk = new InMemorySagaLog();
        var saga = new Saga("h")
            .Step("a", (_, _) => Task.CompletedTask, (cx, _) => cx.SleepAsync(TimeSpan.FromDays(1)).AsTask())
            .Step("b", (cx, _) => cx.SleepAsync(TimeSpan.FromHours(1)).AsTask(), null);
        Outcome<SagaResult> o = default;
        var r = LabRuntime.Run(3, async cx =>
        {
            var h = cx.Spawn("caller", async cx => o = await cx.SagaAsync(saga, new SagaOptions { SagaId = "h", Store = disk.Open() }));
            await cx.SleepAsync(TimeSpan.FromSeconds(1));
            h.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)));
            await h.JoinAsync(cx);
        });
        var e = Assert.IsType<SagaInterruptedException>(o.Error);
        Assert.Contains("cleanup budget", e.Message, StringComparison.Ordinal);
        Assert.InRange(r.VirtualTime, TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(7)); // cancel at 1 s + a 5 s cleanup budget
        Assert.Equal(SagaState.Compensating, disk.StateOf("h")); // recovery finishes it
        Assert.All(r.OracleFailures, f => Assert.Equal(LabOracles.BudgetOverrun, f.Oracle)); // the overrun is reported, not hidden
    }

    [Fact]
    public void ConcurrentBatch_OneStepFails_SiblingsAreCancelledAndCompensated()
    {
        var ledger = new Ledger();
        var saga = new Saga("batch")
            .Step("quick", (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; }, (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; }, SagaOpKind.Reserve)
            .Step("fails", async (cx, _) => { await cx.SleepAsync(Ms100); throw new TaskErrorException("no stock"); }, null, SagaOpKind.Reserve)
            .Step("slow", async (cx, s) => { await cx.SleepAsync(TimeSpan.FromSeconds(10)); ledger.Apply(s, 0); }, (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; }, SagaOpKind.Send)
            .Step("never", (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; }, null);
        Outcome<SagaResult> o = default;
        var r = Lab(async cx => o = await cx.SagaAsync(saga, new SagaOptions { SagaId = "b" }));
        Assert.Equal("fails", ((SagaException)o.Error!).Result.FailedStep);
        Assert.False(ledger.IsApplied("b/2"));   // the slow sibling was cancelled before its effect
        Assert.False(ledger.IsApplied("b/3"));
        Assert.True(ledger.IsApplied("b/0/undo"));
        Assert.True(ledger.IsApplied("b/2/undo"));
        Assert.True(r.VirtualTime < TimeSpan.FromSeconds(1), r.VirtualTime.ToString());
    }

    [Fact]
    public async Task DuplicateSagaId_IsAnErr_AndRunsNothing()
    {
        var ledger = new Ledger();
        var disk = new InMemorySagaLog();
        var saga = Sagas.Build("dup", ledger, Seq(1), TimeSpan.Zero);
        var store = disk.Open();
        var (first, second) = await TestRuntime.RunAsync(async cx =>
            (await cx.SagaAsync(saga, new SagaOptions { Store = store, SagaId = "same" }), await cx.SagaAsync(saga, new SagaOptions { Store = store, SagaId = "same" })));
        Assert.True(first.IsOk);
        Assert.IsType<SagaAlreadyExistsException>(second.Error);
        Assert.Single(ledger.Calls);
    }

    [Fact]
    public void GroupCommit_ConcurrentSteps_ShareCommits()
    {
        var disk = new InMemorySagaLog();
        var store = disk.Open();
        var ledger = new Ledger();
        var saga = Sagas.Build("gc", ledger, Enumerable.Repeat(SagaOpKind.CrdtMerge, 30).ToArray(), TimeSpan.Zero);
        Lab(async cx => Assert.True((await cx.SagaAsync(saga, new SagaOptions { Store = store })).IsOk));
        Assert.Equal(62, store.RecordsAppended); // started + 30 started + 30 completed + completed
        // Far fewer commits than records (one per record without group commit); the exact count follows the Lab's
        // schedule (11 since task completion is a choice point).
        Assert.True(store.Commits <= 16, $"{store.Commits} commits for {store.RecordsAppended} records");
    }
}
