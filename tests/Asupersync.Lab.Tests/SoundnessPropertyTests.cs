using System.Text;
using Asupersync.Channels;
using Asupersync.Lab.Exploration;
using Asupersync.Sync;
using CsCheck;

namespace Asupersync.Lab.Tests;

/// <summary>
/// The differential check of soundness (issue 10 item 3): small random concurrent programs (shared plain fields,
/// yields, locks, channel sends, spawns, joins, races, join sets, cancels), generated with CsCheck from fixed
/// seeds, each run many times on the production multi-threaded runtime and explored in the Lab. Every final state
/// production reaches must be one the Lab's exploration reached whenever the Lab says "exhausted" — a Lab verdict
/// is a promise about every schedule production can run.
/// </summary>
/// <remarks>
/// <para>The programs respect the Lab's documented granularity (README, "Choice points"): every operation of a
/// task ends at a choice point (a yield, or a runtime operation that is one), so that no two visible actions share
/// a step. Within that granularity production may interleave anything; a final state it reaches that the Lab does
/// not is a soundness bug of the Lab (a missing choice point, a dependency DPOR did not see, a pruned class).</para>
/// <para>Bounded and deterministic: fixed generator seeds, a fixed number of production runs per program, a fixed
/// schedule budget per exploration (a program too large to exhaust within it is skipped, and the test requires
/// enough programs to be compared).</para>
/// </remarks>
public class SoundnessPropertyTests(Xunit.Abstractions.ITestOutputHelper output)
{
    internal enum Op { Yield, ReadX, WriteX, WriteY, RacyIncX, LockedInc, Send, SpawnChild, JoinChildren, CancelNext, Race, JoinSetPair }

    internal sealed record Program(Op[][] Tasks)
    {
        public override string ToString() => string.Join(" | ", Tasks.Select((o, t) => $"t{t}: " + string.Join(",", o)));
    }

    private static readonly Gen<Op> GenOp = Gen.Int[0, 11].Select(i => (Op)i);

    internal static readonly Gen<Program> GenProgram =
        Gen.Int[2, 3].SelectMany(n => GenOp.Array[1, n == 2 ? 4 : 3].Array[n]).Select(t => new Program(t));

    private sealed class State
    {
        public int X, Y, C;
    }

    /// <summary>The program as a Lab/production root; <paramref name="record"/> gets the final state (the same text for the same state).</summary>
    /// <remarks>With <paramref name="noise"/> (production only) every operation first spins a random few hundred
    /// iterations, so that the workers' interleavings vary from run to run; the Lab never gets noise.</remarks>
    internal static Func<Cx, Task> Build(Program p, Action<string> record, Random? noise = null) => async cx =>
    {
        int n = p.Tasks.Length;
        bool needsStart = p.Tasks.Any(t => t.Contains(Op.CancelNext));
        var s = new State();
        var mutex = new AsyncMutex();
        var (tx, rx) = Mpsc.Unbounded<int>();
        // With a cancel in the program, every task starts after the root spawned them all (the handles array is then
        // complete for every task, on every runtime): the barrier is a choice point, and its completion orders the
        // root's writes first.
        var start = needsStart ? new AsyncBarrier(n + 1) : null;
        int[] spins = new int[n * 8];
        if (noise is not null)
        {
            lock (noise)
            {
                for (int i = 0; i < spins.Length; i++) spins[i] = noise.Next(4) == 0 ? 0 : noise.Next(0, 20_000);
            }
        }
        var handles = new TaskHandle<Unit>[n];
        var logs = new StringBuilder[n];
        for (int t = 0; t < n; t++)
        {
            int me = t;
            logs[me] = new StringBuilder();
            handles[me] = cx.Spawn($"t{me}", cx => RunTask(cx, me, p.Tasks[me], s, mutex, tx, start, handles, logs[me], spins.AsMemory(me * 8, 8)));
        }
        if (start is not null) await start.WaitAsync(cx);
        var sb = new StringBuilder();
        for (int t = 0; t < n; t++)
        {
            var o = await handles[t].JoinAsync(cx);
            sb.Append('t').Append(t).Append('=').Append(o.Kind).Append('[').Append(logs[t]).Append("] ");
        }
        tx.Dispose();
        sb.Append("x=").Append(Read(cx, ref s.X, "x")).Append(" y=").Append(Read(cx, ref s.Y, "y")).Append(" c=").Append(Read(cx, ref s.C, "c")).Append(" ch=");
        while (rx.TryReceive(out var item)) sb.Append(item).Append(',');
        record(sb.ToString());
    };

    // Shared plain fields, declared to the Lab (LabAccess.Touch does nothing in production), so that the exploration
    // can run with the full reduction (SharedState.Declared) as well as in the default sound mode.
    private static int Read(Cx cx, ref int field, string name)
    {
        LabAccess.Touch(cx, name);
        return Volatile.Read(ref field);
    }

    private static void Write(Cx cx, ref int field, string name, int value)
    {
        LabAccess.Touch(cx, name);
        Volatile.Write(ref field, value);
    }

    private static async Task RunTask(Cx cx, int me, Op[] ops, State s, AsyncMutex mutex, Sender<int> tx, AsyncBarrier? start,
        TaskHandle<Unit>[] handles, StringBuilder log, ReadOnlyMemory<int> spins)
    {
        if (start is not null) await start.WaitAsync(cx);
        var children = new List<(TaskHandle<Unit> Handle, StringBuilder Log)>();
        for (int i = 0; i < ops.Length; i++)
        {
            int tag = (me + 1) * 10 + i;
            if (spins.Span[i % 8] > 0) Thread.SpinWait(spins.Span[i % 8]);
            // Granularity: an operation that is not itself a choice point (a plain access, a spawn, a cancel) is
            // preceded by a yield, so no two visible actions of a task share a step.
            switch (ops[i])
            {
                case Op.Yield:
                    await cx.YieldAsync();
                    break;
                case Op.ReadX:
                    await cx.YieldAsync();
                    log.Append('x').Append(Read(cx, ref s.X, "x")).Append(';');
                    break;
                case Op.WriteX:
                    await cx.YieldAsync();
                    Write(cx, ref s.X, "x", tag);
                    break;
                case Op.WriteY:
                    await cx.YieldAsync();
                    Write(cx, ref s.Y, "y", tag);
                    break;
                case Op.RacyIncX:
                    {
                        await cx.YieldAsync();
                        int v = Read(cx, ref s.X, "x");
                        await cx.YieldAsync();
                        Write(cx, ref s.X, "x", v + 1);
                        break;
                    }
                case Op.LockedInc:
                    await using (await mutex.LockAsync(cx))
                    {
                        int v = Read(cx, ref s.C, "c");
                        await cx.YieldAsync();
                        Write(cx, ref s.C, "c", v + 1);
                    }
                    break;
                case Op.Send:
                    await tx.SendAsync(cx, tag);
                    break;
                case Op.SpawnChild:
                    {
                        await cx.YieldAsync();
                        var childLog = new StringBuilder(); // the child's own: read by the parent only after a join
                        children.Add((cx.Spawn($"t{me}.{i}", async cx =>
                        {
                            Write(cx, ref s.Y, "y", tag);
                            await cx.YieldAsync();
                            childLog.Append('x').Append(Read(cx, ref s.X, "x"));
                        }), childLog));
                        break;
                    }
                case Op.JoinChildren:
                    await JoinChildren(cx, children, log);
                    break;
                case Op.CancelNext:
                    await cx.YieldAsync();
                    handles[(me + 1) % handles.Length].Cancel();
                    break;
                case Op.Race:
                    {
                        await cx.YieldAsync();
                        var o = await cx.RaceAsync<int>(
                            async a => { await a.YieldAsync(); Write(a, ref s.X, "x", tag); return 1; },
                            async b => { Write(b, ref s.Y, "y", tag); await b.YieldAsync(); return 2; });
                        log.Append('r').Append(o.IsOk ? o.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : o.Kind.ToString()).Append(';');
                        break;
                    }
                case Op.JoinSetPair:
                    {
                        await cx.YieldAsync();
                        await using var set = new JoinSet<int>(cx);
                        set.Spawn("a", async a => { await a.YieldAsync(); return 1; });
                        set.Spawn("b", async b => { Write(b, ref s.Y, "y", tag); await b.YieldAsync(); return 2; });
                        while (await set.NextCompletedAsync(cx) is { } done)
                            log.Append('s').Append(done.Outcome.IsOk ? done.Outcome.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : done.Outcome.Kind.ToString()).Append(';');
                        break;
                    }
            }
        }
        await JoinChildren(cx, children, log);
    }

    private static async Task JoinChildren(Cx cx, List<(TaskHandle<Unit> Handle, StringBuilder Log)> children, StringBuilder log)
    {
        foreach (var (handle, childLog) in children)
        {
            var o = await handle.JoinAsync(cx);
            log.Append('j').Append(o.Kind).Append('(').Append(childLog).Append(");");
        }
        children.Clear();
    }

    private const int Programs = 40;
    private const int ProductionRuns = 100;
    private const int LabBudget = 2_500;

    private static ExploreOptions Options(ExploreStrategy strategy, SharedState sharedState) => new()
    {
        Strategy = strategy,
        MaxSchedules = LabBudget,
        StopOnFirstFailure = false,
        MaxWallTime = TimeSpan.FromMinutes(5),
        Lab = LabOptions.Default with { SharedState = sharedState },
    };

    private static (ExploreResult Result, HashSet<string> States) Explore(Program program, ExploreStrategy strategy, SharedState sharedState)
    {
        var states = new HashSet<string>();
        var r = LabRuntime.Explore(Build(program, st => states.Add(st)), Options(strategy, sharedState));
        Assert.True(r.Failures.Count == 0, $"{program}: the Lab failed a schedule: {r.Describe()}");
        return (r, states);
    }

    private static Program ProgramAt(int seed) => GenProgram.Generate(new PCG(10, (ulong)seed), null, out _);

    private static void AssertSubset(int seed, Program program, string what, ExploreResult lab, HashSet<string> labStates, HashSet<string> production)
    {
        var missing = production.Except(labStates).ToList();
        if (missing.Count > 0)
            Assert.Fail($"program {seed} ({program}): the Lab ({what}) said {lab.Describe()} with {labStates.Count} final states, but production reached "
                + $"{missing.Count} it never did, e.g. {missing[0]}\nLab states:\n{string.Join("\n", labStates.Order(StringComparer.Ordinal))}");
    }

    [Fact]
    public void EveryProductionOutcome_IsReachedByAnExhaustedLabExploration()
    {
        var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 4, PrintDiagnostics = false });
        var noise = new Random(20261203);
        try
        {
            int declaredCompared = 0, soundCompared = 0, productionStates = 0, concurrent = 0;
            for (int seed = 0; seed < Programs; seed++)
            {
                var program = ProgramAt(seed);
                // The full reduction over the declared state, and the default sound mode (every user step dependent
                // with every other) where the program is small enough for it.
                var (declared, declaredStates) = Explore(program, ExploreStrategy.Dpor, SharedState.Declared);
                var (sound, soundStates) = program.Tasks.Sum(t => t.Length) <= 3
                    ? Explore(program, ExploreStrategy.Dpor, SharedState.Undeclared)
                    : (null, []);
                output.WriteLine($"program {seed} ({program}): declared DPOR {declared.Schedules} schedules, exhausted {declared.Exhausted}, {declaredStates.Count} states; "
                    + (sound is null ? "sound mode not run" : $"sound DPOR {sound.Schedules}, exhausted {sound.Exhausted}, {soundStates.Count} states"));
                if (declared.Exhausted && sound is { Exhausted: true })
                {
                    // The two reductions must agree on the final states (sound mode only adds redundant schedules).
                    Assert.True(declaredStates.SetEquals(soundStates),
                        $"program {seed} ({program}): declared {declaredStates.Count} states, sound {soundStates.Count}; only declared: "
                        + $"{string.Join(" / ", declaredStates.Except(soundStates))}; only sound: {string.Join(" / ", soundStates.Except(declaredStates))}");
                }
                if (!declared.Exhausted && sound is not { Exhausted: true }) continue; // too large to enumerate within the budget: no verdict to check

                var production = new HashSet<string>();
                var gate = new Lock();
                for (int run = 0; run < ProductionRuns; run++)
                {
                    var outcome = rt.Run(Build(program, st => { lock (gate) production.Add(st); }, noise));
                    Assert.True(outcome.IsOk, $"program {seed} ({program}): production run {run} ended {outcome}");
                }
                productionStates += production.Count;
                if (production.Count > 1) concurrent++;
                output.WriteLine($"  production: {production.Count} states");
                if (declared.Exhausted)
                {
                    AssertSubset(seed, program, "DPOR, declared state", declared, declaredStates, production);
                    declaredCompared++;
                }
                if (sound is { Exhausted: true })
                {
                    AssertSubset(seed, program, "DPOR, sound mode", sound, soundStates, production);
                    soundCompared++;
                }
            }
            output.WriteLine($"compared: {declaredCompared} (declared), {soundCompared} (sound mode); {productionStates} production states, {concurrent} programs with more than one");
            Assert.True(declaredCompared >= Programs / 3, $"only {declaredCompared} of {Programs} programs were small enough to exhaust within {LabBudget} schedules");
            Assert.True(soundCompared >= 3, $"only {soundCompared} of {Programs} programs were small enough for sound mode to exhaust within {LabBudget} schedules");
            // Production's interleavings depend on the machine; with the spin noise many programs reach several final
            // states (13 of 21 on the 2-core development machine), and the check is vacuous only if none does.
            Assert.True(concurrent >= 1, $"no program reached more than one final state in production: the check saw no concurrency");
        }
        finally
        {
            rt.Dispose();
        }
    }
}
