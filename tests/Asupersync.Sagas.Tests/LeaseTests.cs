using Asupersync.Lab;

namespace Asupersync.Sagas.Tests;

/// <summary>Leases, heartbeats, takeover and fencing, on the in-memory log in its shared (leased) mode, under the Lab.</summary>
public class LeaseTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);

    [Fact]
    public void TwoWorkers_ClaimDisjointSagas_AndTheSurvivorTakesOverAfterTheLease()
    {
        var disk = new InMemorySagaLog();
        var ledger = new Ledger();
        ledger.Watch(disk);
        var kinds = new[] { SagaOpKind.Commit, SagaOpKind.Commit, SagaOpKind.Commit };
        SagaWorkerReport? survivor = null;
        TimeSpan crashedAt = default;
        var r = LabRuntime.Run(11, async cx =>
        {
            var submit = disk.Open(Lease, "submitter");
            for (int i = 0; i < 6; i++) await cx.SubmitSagaAsync(submit, Sagas.Build("s", ledger, kinds, TimeSpan.Zero), sagaId: "g" + Sagas.Str(i));
            var a = disk.Open(Lease, "A");
            var b = disk.Open(Lease, "B");
            // A's steps are slow (1 s each, longer than a heartbeat); B's are quick.
            var regA = new SagaRegistry(Sagas.Build("s", ledger, kinds, TimeSpan.FromSeconds(1), process: 0));
            var regB = new SagaRegistry(Sagas.Build("s", ledger, kinds, TimeSpan.FromMilliseconds(10), process: 1));
            var workerA = cx.Spawn("worker A", c => c.RunSagaWorkerAsync(a, regA, new SagaWorkerOptions { MaxConcurrentSagas = 3 }));
            await cx.SleepAsync(TimeSpan.FromMilliseconds(1)); // A claims first
            var workerB = cx.Spawn("worker B", async c => survivor = await c.RunSagaWorkerAsync(b, regB, new SagaWorkerOptions { MaxConcurrentSagas = 3, StopWhen = SagaWorkerStop.AllFinished, PollInterval = TimeSpan.FromSeconds(1) }));
            await cx.SleepAsync(TimeSpan.FromMilliseconds(1500)); // A is inside the second step of each of its sagas
            crashedAt = cx.Now;
            InMemorySagaLog.CrashWorker(a);
            ledger.Kill(0);
            workerA.Cancel();
            await workerA.JoinAsync(cx);
            await workerB.JoinAsync(cx);
        });
        Assert.True(r.Passed, r.Describe());
        Assert.Equal(6, survivor!.Results.Count);
        Assert.All(survivor.Results, x => Assert.Equal(SagaState.Completed, x.State));
        Assert.All(disk.SagaIds, id => Assert.Equal(SagaState.Completed, disk.StateOf(id)));
        // Every effect exactly once: A's completed first steps were not redone by B, nor run twice at once.
        Assert.Empty(ledger.Violations);
        Assert.Equal(0, ledger.Deduplicated);
        Assert.Equal(18, ledger.Applied.Count);
        Assert.Equal(3, ledger.Applied.Count(e => e.Process == 0)); // A finished one step of each of its three sagas
        // B could only take A's sagas over once A's lease (renewed by its heartbeat until the crash) expired.
        Assert.True(r.VirtualTime >= crashedAt + Lease - Lease / 3, $"finished at {r.VirtualTime}, crash at {crashedAt}");
    }

    [Fact]
    public void Fencing_AStaleOwnerCannotAppend_AfterATakeover()
    {
        var disk = new InMemorySagaLog();
        var saga = new Saga("f").Step("a", (_, _) => Task.CompletedTask, null);
        Exception? stale = null;
        var r = LabRuntime.Run(1, async cx =>
        {
            var a = disk.Open(Lease, "A");
            var b = disk.Open(Lease, "B");
            await cx.SubmitSagaAsync(a, saga, sagaId: "x");
            var leaseA = Assert.Single(await a.ClaimAsync(cx, 10));
            Assert.Empty(await b.ClaimAsync(cx, 10)); // held (SKIP LOCKED)
            await a.AppendAsync(cx, new SagaLogEntry("x", SagaTransition.StepStarted, 0, "1", cx.UtcNow), leaseA);
            await cx.SleepAsync(Lease + TimeSpan.FromSeconds(1));
            var leaseB = Assert.Single(await b.ClaimAsync(cx, 10));
            Assert.Equal(leaseA.Epoch + 1, leaseB.Epoch);
            Assert.False(await a.RenewAsync(cx, leaseA));
            try
            {
                await a.AppendAsync(cx, new SagaLogEntry("x", SagaTransition.StepCompleted, 0, null, cx.UtcNow), leaseA);
            }
            catch (SagaLeaseLostException e)
            {
                stale = e;
            }
            await b.AppendAsync(cx, new SagaLogEntry("x", SagaTransition.StepCompleted, 0, null, cx.UtcNow), leaseB);
        });
        Assert.True(r.Passed, r.Describe());
        Assert.IsType<SagaLeaseLostException>(stale);
        Assert.Equal(3, disk.RecordsOf("x").Count);
    }

    [Fact]
    public void LostLease_StopsTheSaga_WithoutCompensatingOrStartingAnything()
    {
        var disk = new InMemorySagaLog();
        var ledger = new Ledger();
        Outcome<SagaResult> o = default;
        var r = LabRuntime.Run(5, async cx =>
        {
            var a = disk.Open(Lease, "A");
            var b = disk.Open(Lease, "B");
            var saga = new Saga("l")
                .Step("a", (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; }, (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; })
                .Step("b", (cx, _) => cx.SleepAsync(TimeSpan.FromMinutes(1)).AsTask(), null)
                .Step("c", (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; }, null);
            var run = cx.Spawn("A runs", async c => o = await c.SagaAsync(saga, new SagaOptions { Store = a, SagaId = "l" }));
            await cx.SleepAsync(TimeSpan.FromSeconds(1));
            // B steals the saga (as if A's lease had expired during a pause): A's next renewal fails.
            InMemorySagaLogTestHooks.ExpireLease(disk, "l");
            Assert.Single(await b.ClaimAsync(cx, 1));
            await run.JoinAsync(cx);
        });
        Assert.True(r.Passed, r.Describe());
        var e = Assert.IsType<SagaInterruptedException>(o.Error);
        Assert.IsType<SagaLeaseLostException>(e.Result.Interruption);
        Assert.Equal(["l/0"], ledger.Calls); // no compensation and no later step by the worker that lost the lease
        Assert.DoesNotContain(disk.RecordsOf("l"), x => x.Transition == SagaTransition.SagaAborting);
    }
}

internal static class InMemorySagaLogTestHooks
{
    internal static void ExpireLease(InMemorySagaLog disk, string sagaId)
    {
        lock (disk.Gate) disk.Rows[sagaId].LeaseUntil = DateTimeOffset.MinValue;
    }
}
