using Asupersync.Lab;

namespace Asupersync.Sagas.Tests;

/// <summary>Simulated crash and restart over the in-memory log (same semantics as the database stores), under the Lab.</summary>
public class RecoveryTests
{
    private static readonly TimeSpan Ms100 = TimeSpan.FromMilliseconds(100);
    private static readonly SagaOpKind[] Four = [SagaOpKind.Commit, SagaOpKind.Commit, SagaOpKind.Commit, SagaOpKind.Commit];

    /// <summary>Runs <paramref name="first"/> as process 0, crashes it after <paramref name="crashAfter"/>, then runs a recovery pass as process 1.</summary>
    private static (SagaWorkerReport Report, LabRunResult Run) CrashAndRecover(InMemorySagaLog disk, Ledger ledger, Func<Cx, SagaLogStore, Task> first, TimeSpan crashAfter, Saga restarted)
    {
        ledger.Watch(disk);
        SagaWorkerReport? report = null;
        var r = LabRuntime.Run(7, async cx =>
        {
            var process = cx.Spawn("process 0", c => first(c, disk.Open()));
            await cx.SleepAsync(crashAfter);
            disk.Crash();
            ledger.Crash();
            process.Cancel(); // what is left of the dead process can no longer write or call anything
            await process.JoinAsync(cx);
            report = await cx.RecoverSagasAsync(disk.Open(), new SagaRegistry(restarted));
        });
        Assert.True(r.Passed, r.Describe());
        Assert.Empty(ledger.Violations);
        return (report!, r);
    }

    [Fact]
    public void CrashBeforeAnEffect_RecoveryResumesForward_WithoutRepeatingCompletedSteps()
    {
        var disk = new InMemorySagaLog();
        var ledger = new Ledger();
        var (report, _) = CrashAndRecover(disk, ledger,
            (cx, store) => cx.SagaAsync(Sagas.Build("s", ledger, Four, Ms100, process: 0), new SagaOptions { Store = store, SagaId = "k" }),
            Ms100 * 2.5, Sagas.Build("s", ledger, Four, Ms100, process: 1));
        var result = Assert.Single(report.Results);
        Assert.Equal(SagaState.Completed, result.State);
        Assert.Equal([1, 1, 2, 1], result.Steps.Select(s => s.Starts)); // step 2 was in flight at the crash
        Assert.Equal(["k/0", "k/1", "k/2", "k/3"], ledger.Applied.Select(e => e.Key));
        Assert.Equal(1, ledger.Calls.Count(c => c == "k/0")); // completed steps are not run again
        Assert.Equal(SagaState.Completed, disk.StateOf("k"));
    }

    [Fact]
    public void CrashAfterAnEffect_BeforeItsRecord_RerunsTheStepWithTheSameKey_AndTheServiceDeduplicates()
    {
        var disk = new InMemorySagaLog();
        var ledger = new Ledger();
        var (report, _) = CrashAndRecover(disk, ledger,
            (cx, store) => cx.SagaAsync(Sagas.Build("s", ledger, Four, TimeSpan.Zero, process: 0, after: Ms100), new SagaOptions { Store = store, SagaId = "k" }),
            Ms100 * 1.5, Sagas.Build("s", ledger, Four, TimeSpan.Zero, process: 1));
        Assert.Equal(SagaState.Completed, Assert.Single(report.Results).State);
        Assert.Equal(2, ledger.Calls.Count(c => c == "k/1"));
        Assert.Equal(1, ledger.Deduplicated);
        Assert.All(new[] { "k/0", "k/1", "k/2", "k/3" }, k => Assert.Equal(1, ledger.TimesApplied(k)));
    }

    [Fact]
    public void CompensatePolicy_RecoveryCompensatesTheStartedSteps_Lifo()
    {
        var disk = new InMemorySagaLog();
        var ledger = new Ledger();
        var (report, _) = CrashAndRecover(disk, ledger,
            (cx, store) => cx.SagaAsync(Sagas.Build("s", ledger, Four, Ms100, process: 0, recovery: SagaRecoveryPolicy.Compensate), new SagaOptions { Store = store, SagaId = "k" }),
            Ms100 * 2.5, Sagas.Build("s", ledger, Four, Ms100, process: 1, recovery: SagaRecoveryPolicy.Compensate));
        var result = Assert.Single(report.Results);
        Assert.Equal(SagaState.Compensated, result.State);
        Assert.Equal([2, 1, 0], ledger.CompensationOrder("k"));
        Assert.False(ledger.IsApplied("k/2")); // it never got to its effect
        Assert.Contains("Compensate", result.Cause, StringComparison.Ordinal);
    }

    [Fact]
    public void CrashWhileCompensating_RecoveryFinishesTheCompensation_AndNeverGoesForward()
    {
        var disk = new InMemorySagaLog();
        var ledger = new Ledger();
        ledger.FailAlways("k/3");
        var (report, _) = CrashAndRecover(disk, ledger,
            (cx, store) => cx.SagaAsync(Sagas.Build("s", ledger, Four, Ms100, process: 0), new SagaOptions { Store = store, SagaId = "k" }),
            Ms100 * 5.5, // steps 0..3 took 400 ms; the compensation of 3 is done, that of 2 is in flight
            Sagas.Build("s", ledger, Four, Ms100, process: 1));
        Assert.Equal(SagaState.Compensated, Assert.Single(report.Results).State);
        Assert.Equal([3, 2, 1, 0], ledger.CompensationOrder("k"));
        Assert.Equal(1, ledger.Calls.Count(c => c == "k/3/undo"));
        Assert.Equal(1, ledger.Calls.Count(c => c == "k/3")); // the failed step is not retried
        var log = disk.RecordsOf("k");
        Assert.Equal(1, log.Count(r => r.Transition == SagaTransition.SagaAborting));
    }

    [Fact]
    public void SubmittedSaga_IsRunByRecovery()
    {
        var disk = new InMemorySagaLog();
        var ledger = new Ledger();
        var saga = Sagas.Build("s", ledger, Four, TimeSpan.Zero);
        SagaWorkerReport? report = null;
        var r = LabRuntime.Run(1, async cx =>
        {
            var store = disk.Open();
            await cx.SubmitSagaAsync(store, saga, input: "x", sagaId: "sub");
            report = await cx.RecoverSagasAsync(store, new SagaRegistry(saga));
        });
        Assert.True(r.Passed, r.Describe());
        Assert.Equal(SagaState.Completed, Assert.Single(report!.Results).State);
        Assert.Equal(4, ledger.Applied.Count);
    }

    [Fact]
    public void Recovery_RefusesACorruptLog_AndRunsNothing()
    {
        var disk = new InMemorySagaLog();
        var ledger = new Ledger();
        var saga = Sagas.Build("s", ledger, Four, TimeSpan.Zero);
        Exception? error = null;
        var r = LabRuntime.Run(1, async cx =>
        {
            var store = disk.Open();
            await cx.SubmitSagaAsync(store, saga, sagaId: "good");
            await cx.SubmitSagaAsync(store, saga, sagaId: "bad");
            disk.Tamper("bad", 1, "{\"v\":1}");
            try
            {
                await cx.RecoverSagasAsync(store, new SagaRegistry(saga));
            }
            catch (SagaStoreException e)
            {
                error = e;
            }
        });
        Assert.True(r.Passed, r.Describe());
        var e = Assert.IsType<SagaLogCorruptException>(error);
        Assert.Equal("bad", e.SagaId);
        Assert.Contains("checksum", e.Message, StringComparison.Ordinal);
        Assert.Empty(ledger.Calls); // not even the good saga ran: nothing half applied
        Assert.Single(disk.RecordsOf("good"));
    }

    [Fact]
    public void Recovery_RefusesAMismatchedDefinition()
    {
        var disk = new InMemorySagaLog();
        var ledger = new Ledger();
        Exception? error = null;
        LabRuntime.Run(1, async cx =>
        {
            var store = disk.Open();
            await cx.SubmitSagaAsync(store, Sagas.Build("s", ledger, Four, TimeSpan.Zero), sagaId: "m");
            try
            {
                await cx.RecoverSagasAsync(store, new SagaRegistry(Sagas.Build("s", ledger, [SagaOpKind.Commit], TimeSpan.Zero)));
            }
            catch (SagaStoreException e)
            {
                error = e;
            }
            try
            {
                await cx.RecoverSagasAsync(store, new SagaRegistry());
            }
            catch (SagaStoreException e)
            {
                Assert.Contains("no saga definition named 's'", e.Message, StringComparison.Ordinal);
            }
        });
        Assert.Contains("recorded 4 steps", Assert.IsType<SagaDefinitionMismatchException>(error).Message, StringComparison.Ordinal);
        Assert.Empty(ledger.Calls);
    }

    [Fact]
    public void CompensationFailedSaga_CanBeReopened_AndFinished()
    {
        var disk = new InMemorySagaLog();
        var ledger = new Ledger();
        ledger.FailAlways("k/1");
        ledger.FailNext("k/0/undo", 3);
        var saga = Sagas.Build("s", ledger, [SagaOpKind.Commit, SagaOpKind.Commit], TimeSpan.Zero);
        SagaWorkerReport? report = null;
        Outcome<SagaResult> first = default;
        var r = LabRuntime.Run(1, async cx =>
        {
            var store = disk.Open();
            first = await cx.SagaAsync(saga, new SagaOptions { Store = store, SagaId = "k", CompensationRetry = new RetryPolicy { MaxAttempts = 3, InitialBackoff = TimeSpan.Zero } });
            Assert.Empty((await cx.RecoverSagasAsync(store, new SagaRegistry(saga))).Results); // final until reopened
            report = await cx.RecoverSagasAsync(store, new SagaRegistry(saga), new SagaWorkerOptions { RetryCompensationFailed = true });
        });
        Assert.True(r.Passed, r.Describe());
        Assert.Equal("s0", Assert.IsType<SagaCompensationFailedException>(first.Error).Step);
        Assert.Equal(SagaState.Compensated, Assert.Single(report!.Results).State);
        Assert.Contains(disk.RecordsOf("k"), rec => rec.Transition == SagaTransition.SagaReopened);
    }
}
