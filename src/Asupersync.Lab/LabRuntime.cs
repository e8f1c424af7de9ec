using Asupersync.Lab.Exploration;

namespace Asupersync.Lab;

/// <summary>
/// Entry points of the Lab: run a program under a seed, replay a trace, explore schedules. The program is an
/// ordinary root body; the Lab runs it on the production kernel with a deterministic driver.
/// </summary>
/// <example>
/// <code>
/// var result = LabRuntime.Run(42, async cx =&gt;
/// {
///     var a = cx.Spawn("a", async cx =&gt; { await cx.SleepAsync(TimeSpan.FromSeconds(5)); });
///     await a.JoinAsync(cx);
/// });
/// Assert.True(result.Passed, result.Describe());   // 5 virtual seconds, no real waiting
/// </code>
/// </example>
public static class LabRuntime
{
    /// <summary>Runs <paramref name="program"/> once, every scheduling choice drawn from <paramref name="seed"/>.</summary>
    /// <param name="seed">The seed (any value; nearby seeds give unrelated schedules).</param>
    /// <param name="program">The root body.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <returns>The outcome, trace and oracle findings.</returns>
    public static LabRunResult Run(ulong seed, Func<Cx, Task> program, LabOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        return Execute(seed, program, options ?? LabOptions.Default, new RandomScheduler(seed), "random");
    }

    /// <summary>
    /// The determinism self-check: runs <paramref name="program"/> twice under <paramref name="seed"/> and reports a
    /// <see cref="LabOracles.Determinism"/> failure (on the second run's result) when the traces differ — the program
    /// depends on something outside the Lab (static state, wall-clock time, hash ordering, real threads).
    /// </summary>
    /// <param name="seed">The seed.</param>
    /// <param name="program">The program.</param>
    /// <param name="options">Settings.</param>
    /// <returns>The second run, with a Determinism failure if it differed from the first.</returns>
    public static LabRunResult CheckDeterminism(ulong seed, Func<Cx, Task> program, LabOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        var o = (options ?? LabOptions.Default) with { RecordEvents = true };
        var first = Execute(seed, program, o with { TraceDirectory = null }, new RandomScheduler(seed), "random");
        var run = new LabRun(seed, o, new RandomScheduler(seed));
        run.Execute(program);
        var second = first.Trace;
        int n = Math.Min(second.Events.Count, run.Events.Count);
        int at = -1;
        for (int i = 0; i < n && at < 0; i++)
        {
            if (second.Events[i] != run.Events[i]) at = i;
        }
        if (at < 0 && (second.Events.Count != run.Events.Count || !second.Decisions.SequenceEqual(run.Decisions))) at = n;
        if (at >= 0)
        {
            var a = at < second.Events.Count ? second.Events[at].ToString() : "(end)";
            var b = at < run.Events.Count ? run.Events[at].ToString() : "(end)";
            run.Fail(LabOracles.Determinism, $"seed {seed} gave two different traces; first difference at event {at}: {a} vs {b}", []);
        }
        return Finish(run, seed, "random");
    }

    /// <summary>
    /// Replays a recorded run: the same seed, the same decisions. A replay whose decisions or events differ from
    /// the trace reports a <see cref="LabOracles.Determinism"/> failure naming the first differing step.
    /// </summary>
    /// <param name="trace">The trace.</param>
    /// <param name="program">The same program that produced it.</param>
    /// <param name="options">Settings (step bound and chaos are taken from the trace).</param>
    /// <returns>The replayed run.</returns>
    public static LabRunResult Replay(LabTrace trace, Func<Cx, Task> program, LabOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(program);
        var o = (options ?? LabOptions.Default) with { MaxSteps = trace.MaxSteps, Chaos = trace.Chaos, RecordEvents = true, ProgramName = trace.ProgramName };
        var scheduler = new ReplayScheduler(trace.Decisions);
        var run = new LabRun(trace.Seed, o, scheduler);
        run.Execute(program);
        if (scheduler.Divergence is not null) run.Fail(LabOracles.Determinism, scheduler.Divergence, []);
        else if (run.Decisions.Count != trace.Decisions.Count)
            run.Fail(LabOracles.Determinism, $"replay diverged: the trace has {trace.Decisions.Count} steps, the replay took {run.Decisions.Count}", []);
        else if (trace.Events.Count > 0)
        {
            int n = Math.Min(trace.Events.Count, run.Events.Count);
            int at = -1;
            for (int i = 0; i < n && at < 0; i++)
            {
                // Failure events depend on the oracles, not on the schedule: compare the kernel's events only.
                if (trace.Events[i] != run.Events[i]) at = i;
            }
            if (at < 0 && trace.Events.Count != run.Events.Count) at = n;
            if (at >= 0)
            {
                var expected = at < trace.Events.Count ? trace.Events[at].ToString() : "(end of trace)";
                var actual = at < run.Events.Count ? run.Events[at].ToString() : "(end of run)";
                run.Fail(LabOracles.Determinism, $"replay diverged from the trace at event {at}: expected {expected}, got {actual}", []);
            }
        }
        return Finish(run, trace.Seed, "replay");
    }

    /// <summary>
    /// Replays a run from its replay handle (<see cref="LabRunResult.ReplayHandle"/>: the seed and every decision),
    /// whatever strategy found it. A handle whose decisions the program does not follow reports a
    /// <see cref="LabOracles.Determinism"/> failure naming the first step that differs.
    /// </summary>
    /// <param name="handle">The handle, <c>lab2:&lt;seed&gt;:&lt;decisions&gt;</c>.</param>
    /// <param name="program">The same program that produced it.</param>
    /// <param name="options">The same settings it ran with (chaos, oracles, step bound).</param>
    /// <returns>The replayed run, recorded in full.</returns>
    /// <exception cref="FormatException">The text is not a replay handle.</exception>
    public static LabRunResult ReplaySchedule(string handle, Func<Cx, Task> program, LabOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        var (seed, decisions) = ReplayHandle.Parse(handle);
        var o = (options ?? LabOptions.Default) with { RecordEvents = true };
        var scheduler = new ReplayScheduler(decisions);
        var run = new LabRun(seed, o, scheduler);
        run.Execute(program);
        if (scheduler.Divergence is not null) run.Fail(LabOracles.Determinism, scheduler.Divergence, []);
        else if (run.Decisions.Count != decisions.Length)
            run.Fail(LabOracles.Determinism, $"replay diverged: the handle has {decisions.Length} steps, the replay took {run.Decisions.Count}", []);
        return Finish(run, seed, "replay");
    }

    /// <summary>Loads a trace file (checking its integrity hash) and replays it.</summary>
    /// <param name="tracePath">A file written by <see cref="LabTrace.Save"/>.</param>
    /// <param name="program">The same program that produced it.</param>
    /// <param name="options">Settings.</param>
    /// <returns>The replayed run.</returns>
    public static LabRunResult Replay(string tracePath, Func<Cx, Task> program, LabOptions? options = null) =>
        Replay(LabTrace.Load(tracePath), program, options);

    /// <summary>
    /// Explores schedules of <paramref name="program"/> with a strategy (random walk, PCT, DPOR, exhaustive)
    /// within bounds, counting distinct Mazurkiewicz classes and stopping at the first failing run by default.
    /// </summary>
    /// <param name="program">The root body; it must be deterministic apart from the Lab's choices.</param>
    /// <param name="options">Strategy and bounds; null for DPOR with default bounds.</param>
    /// <returns>What was explored and the first failing run, if any.</returns>
    public static ExploreResult Explore(Func<Cx, Task> program, ExploreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        return Explorer.Run(program, options ?? new ExploreOptions());
    }

    internal static LabRunResult Execute(ulong seed, Func<Cx, Task> program, LabOptions options, ILabScheduler scheduler, string strategy)
    {
        var run = new LabRun(seed, options, scheduler);
        run.Execute(program);
        return Finish(run, seed, strategy);
    }

    internal static LabRunResult Finish(LabRun run, ulong seed, string strategy)
    {
        var o = run.Options;
        var trace = new LabTrace(seed, strategy, o.ProgramName, o.MaxSteps, o.Chaos, run.Decisions.ToArray(), run.Events.ToArray(), run.Names(), run.Failures.ToArray());
        var result = new LabRunResult(seed, run.Outcome, trace, run.StepCount, run.Now);
        if (!result.Passed && o.TraceDirectory is not null) result.SaveTrace(o.TraceDirectory);
        return result;
    }
}
