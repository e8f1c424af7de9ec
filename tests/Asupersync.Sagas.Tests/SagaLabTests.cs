using System.Runtime.CompilerServices;
using Asupersync.Lab;
using Asupersync.Lab.Chaos;

namespace Asupersync.Sagas.Tests;

/// <summary>
/// Sagas under the Lab with seeded faults — a step's Err, a compensation's transient failure, a cancel at any point, a
/// simulated crash and restart over the in-memory log — checked by a user oracle after every run.
/// </summary>
public class SagaLabTests
{
    /// <summary>What one Lab run touched, for the oracle.</summary>
    internal sealed class World
    {
        internal readonly InMemorySagaLog Disk = new();
        internal readonly Ledger Ledger = new();
        internal int Disruption;
    }

    /// <summary>
    /// After the run (the program ends with recovery passes): every saga is Completed or Compensated; a completed saga
    /// applied every step exactly once and compensated nothing; a compensated saga compensated every step whose effect
    /// happened (no step completed-and-never-compensated), in LIFO order of the steps' starts; no effect happened twice
    /// for one idempotency key; no effect belongs to a saga the log does not know.
    /// </summary>
    internal sealed class SagaOracle(StrongBox<World?> world) : LabOracle
    {
        public override string Name => "Saga";

        public override void OnRunEnd(LabOracleContext context)
        {
            if (!context.RootClosed || world.Value is not { } w) return;
            var ids = w.Disk.SagaIds.ToHashSet();
            foreach (var g in w.Ledger.Applied.GroupBy(e => (e.SagaId, e.Step, e.Compensation)).Where(g => g.Count() > 1))
                context.Report(this, $"effect of saga {g.Key.SagaId} step {g.Key.Step}{(g.Key.Compensation ? " (compensation)" : "")} applied {g.Count()} times, with keys {string.Join(", ", g.Select(e => e.Key))}");
            foreach (var v in w.Ledger.Violations) context.Report(this, v);
            foreach (var e in w.Ledger.Applied.Where(e => !ids.Contains(e.SagaId)))
                context.Report(this, $"effect {e.Key} of saga {e.SagaId}, which the log does not know");
            foreach (var id in ids)
            {
                var log = w.Disk.RecordsOf(id);
                var state = w.Disk.StateOf(id);
                int steps = log.Where(r => r.Transition == SagaTransition.StepStarted).Select(r => r.Step).DefaultIfEmpty(-1).Max() + 1;
                if (state == SagaState.Completed)
                {
                    foreach (var e in w.Ledger.Applied.Where(e => e.SagaId == id && e.Compensation))
                        context.Report(this, $"completed saga {id} compensated step {e.Step}");
                    foreach (int i in log.Where(r => r.Transition == SagaTransition.StepCompleted).Select(r => r.Step))
                    {
                        if (!w.Ledger.IsApplied(SagaKeys.Action(id, i))) context.Report(this, $"completed saga {id}: step {i} recorded complete but its effect never happened");
                    }
                }
                else if (state == SagaState.Compensated)
                {
                    for (int i = 0; i < steps; i++)
                    {
                        if (w.Ledger.IsApplied(SagaKeys.Action(id, i)) && !w.Ledger.IsApplied(SagaKeys.Compensation(id, i)))
                            context.Report(this, $"compensated saga {id}: step {i} completed and was never compensated");
                    }
                    var firstStart = log.Where(r => r.Transition == SagaTransition.StepStarted).GroupBy(r => r.Step).ToDictionary(g => g.Key, g => g.Min(r => r.Sequence));
                    var order = w.Ledger.CompensationOrder(id);
                    for (int k = 1; k < order.Count; k++)
                    {
                        if (firstStart[order[k - 1]] < firstStart[order[k]])
                            context.Report(this, $"compensated saga {id}: compensations not LIFO: step {order[k - 1]} before step {order[k]}, which started later (order {string.Join(",", order)})");
                    }
                }
                else
                {
                    context.Report(this, $"saga {id} ended {state?.ToString() ?? "missing"} after recovery (disruption {w.Disruption})");
                }
            }
        }
    }

    private static readonly SagaOpKind[][] Shapes =
    [
        [SagaOpKind.Reserve, SagaOpKind.Send, SagaOpKind.Commit, SagaOpKind.Acquire, SagaOpKind.CrdtMerge, SagaOpKind.Release],
        [SagaOpKind.Commit, SagaOpKind.Commit, SagaOpKind.Commit],
        [SagaOpKind.Send, SagaOpKind.Send, SagaOpKind.Send, SagaOpKind.Send, SagaOpKind.Send],
    ];

    private static readonly RetryPolicy Persistent = new() { MaxAttempts = 30, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(4) };

    /// <summary>A definition whose steps take 1–10 ms, fail 8% of the time, and whose compensations fail transiently 15% of the time.</summary>
    private static Saga Faulty(string name, SagaOpKind[] kinds, Ledger ledger, int process)
    {
        var saga = new Saga(name);
        for (int i = 0; i < kinds.Length; i++)
        {
            saga.Step("s" + Sagas.Str(i), async (cx, s) =>
            {
                ledger.Begin(s);
                try
                {
                    await cx.SleepAsync(TimeSpan.FromMilliseconds(1 + cx.NextRandom(10)));
                    if (cx.NextRandom(100) < 8) throw new TaskErrorException("injected step failure");
                    ledger.Apply(s, process);
                    if (cx.NextRandom(2) == 0) await cx.SleepAsync(TimeSpan.FromMilliseconds(1 + cx.NextRandom(5))); // effect done, not yet recorded
                }
                finally
                {
                    ledger.End(s);
                }
            }, async (cx, s) =>
            {
                ledger.Begin(s);
                try
                {
                    await cx.SleepAsync(TimeSpan.FromMilliseconds(1 + cx.NextRandom(5)));
                    if (cx.NextRandom(100) < 15) throw new TaskErrorException("injected compensation failure");
                    ledger.Apply(s, process);
                }
                finally
                {
                    ledger.End(s);
                }
            }, kinds[i]);
        }
        return saga;
    }

    private static SagaRegistry Registry(Ledger ledger, int process) =>
        new(Shapes.Select((k, i) => Faulty("shape" + Sagas.Str(i), k, ledger, process)).ToArray());

    private static Func<Cx, Task> Program(StrongBox<World?> holder) => async cx =>
    {
        var w = new World();
        holder.Value = w;
        w.Ledger.Watch(w.Disk);
        var registry = Registry(w.Ledger, 0);
        var process = cx.Spawn("process 0", async pcx =>
        {
            var store = w.Disk.Open();
            await pcx.RegionAsync("sagas", rcx =>
            {
                for (int i = 0; i < 4; i++)
                {
                    registry.TryGet("shape" + Sagas.Str(i % Shapes.Length), out var saga);
                    var id = "s" + Sagas.Str(i);
                    rcx.Spawn("caller " + id, c => c.SagaAsync(saga!, new SagaOptions { Store = store, SagaId = id, CompensationRetry = Persistent }));
                }
                return Task.CompletedTask;
            }, new RegionOptions { Policy = RegionPolicy.CollectAll });
        });
        w.Disruption = cx.NextRandom(3);
        var at = TimeSpan.FromMilliseconds(cx.NextRandom(60));
        if (w.Disruption == 1)
        {
            await cx.SleepAsync(at);
            w.Disk.Crash();
            w.Ledger.Crash();
            process.Cancel();
        }
        else if (w.Disruption == 2)
        {
            await cx.SleepAsync(at);
            process.Cancel(message: "the user cancels every saga");
        }
        await process.JoinAsync(cx);
        // Restart (harmless when nothing crashed): recovery passes until nothing is left (a pass interrupted by a
        // chaos cancel leaves its sagas for the next one).
        for (int pass = 0; pass < 10; pass++)
        {
            var store = w.Disk.Open();
            if ((await store.ListUnfinishedAsync(cx)).Count == 0) break;
            try
            {
                await cx.RecoverSagasAsync(store, Registry(w.Ledger, w.Ledger.Incarnation), new SagaWorkerOptions { CompensationRetry = Persistent });
            }
            catch (CancelledException)
            {
                cx.AcknowledgeCancel();
            }
        }
    };

    private static LabOptions Options(StrongBox<World?> holder, ChaosOptions? chaos = null) => new()
    {
        Oracles = [() => new SagaOracle(holder)],
        Chaos = chaos ?? ChaosOptions.None,
        TraceDirectory = Path.Combine(Path.GetTempPath(), "asupersync-sagas-lab"),
    };

    [Fact]
    public void SeededFaultsCancelsAndCrashes_EverySagaEndsCompletedOrFullyCompensated()
    {
        var holder = new StrongBox<World?>();
        int crashes = 0, cancels = 0, compensated = 0, completed = 0, deduplicated = 0;
        for (ulong seed = 0; seed < 150; seed++)
        {
            var r = LabRuntime.Run(seed, Program(holder), Options(holder));
            Assert.True(r.Passed, r.Describe());
            var w = holder.Value!;
            if (w.Disruption == 1) crashes++;
            if (w.Disruption == 2) cancels++;
            compensated += w.Disk.SagaIds.Count(id => w.Disk.StateOf(id) == SagaState.Compensated);
            completed += w.Disk.SagaIds.Count(id => w.Disk.StateOf(id) == SagaState.Completed);
            deduplicated += w.Ledger.Deduplicated;
        }
        // The sweep saw every kind of run (not a vacuous pass).
        Assert.True(crashes > 20 && cancels > 20, $"crashes {crashes}, cancels {cancels}");
        Assert.True(compensated > 50 && completed > 50, $"compensated {compensated}, completed {completed}");
        Assert.True(deduplicated > 0, "no crash landed between an effect and its record");
    }

    [Fact]
    public void UnderChaos_SpuriousCancelsAndDelays_TheSameInvariantsHold()
    {
        var holder = new StrongBox<World?>();
        LabTest.ForSeeds(60, Program(holder), Options(holder, ChaosOptions.Light));
    }

    [Fact]
    public void TheOracle_CatchesASagaThatForgetsACompensation()
    {
        // A plausible wrong implementation, simulated: after a crash the restarted process "recovers" by marking the
        // saga compensated without compensating. The oracle must fail the run.
        var holder = new StrongBox<World?>();
        var r = LabRuntime.Run(3, async cx =>
        {
            var w = new World();
            holder.Value = w;
            var store = w.Disk.Open();
            var saga = Sagas.Build("bad", w.Ledger, [SagaOpKind.Commit, SagaOpKind.Commit], TimeSpan.Zero);
            await cx.SubmitSagaAsync(store, saga, sagaId: "b");
            var rec = await store.AppendAsync(cx, new SagaLogEntry("b", SagaTransition.StepStarted, 0, "1", cx.UtcNow));
            w.Ledger.Apply(new SagaStepContextProbe(rec).Context, 0);
            await store.AppendAsync(cx, new SagaLogEntry("b", SagaTransition.StepCompleted, 0, null, cx.UtcNow));
            await store.AppendAsync(cx, new SagaLogEntry("b", SagaTransition.SagaAborting, -1, "forgetful", cx.UtcNow));
            await store.AppendAsync(cx, new SagaLogEntry("b", SagaTransition.SagaCompensated, -1, null, cx.UtcNow));
        }, Options(holder));
        Assert.False(r.Passed);
        Assert.Contains(r.OracleFailures, f => f.Oracle == "Saga" && f.Message.Contains("step 0 completed and was never compensated", StringComparison.Ordinal));
    }
}

/// <summary>Builds a step context outside a saga run (for the oracle's own test).</summary>
internal sealed class SagaStepContextProbe(SagaLogRecord started)
{
    internal SagaStepContext Context { get; } = new(started.SagaId, "bad", null, new Saga("probe").Step("s0", (_, _) => Task.CompletedTask, null).Steps[0], 1, false, false, null);
}
