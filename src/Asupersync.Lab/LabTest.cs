using System.Runtime.CompilerServices;
using Asupersync.Lab.Exploration;

namespace Asupersync.Lab;

/// <summary>Thrown by <see cref="LabTest"/> when a Lab run fails; its message carries the seed, the oracle, the trace path and a replay command.</summary>
public sealed class LabFailureException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The report.</param>
    /// <param name="result">The failing run.</param>
    public LabFailureException(string message, LabRunResult result) : base(message) => Result = result;

    /// <summary>The failing run (its trace, seed and oracle failures).</summary>
    public LabRunResult Result { get; }
}

/// <summary>
/// Test-framework integration: write a Lab test once and run it across many seeds or an exploration budget.
/// A failure throws <see cref="LabFailureException"/> (any test framework reports it) after saving the trace and
/// replaying it from the file, so the report says whether the failure reproduces.
/// </summary>
/// <remarks>
/// To re-run one failure, set <c>ASUPERSYNC_LAB_REPLAY</c> to its trace file (or <c>ASUPERSYNC_LAB_SEED</c> to its
/// seed) and run the same test: the helper then runs only that trace or seed.
/// </remarks>
/// <example>
/// <code>
/// [Fact]
/// public void Transfer_IsAtomic() =&gt; LabTest.ForSeeds(200, async cx =&gt; { ... });
///
/// [Fact]
/// public void Transfer_IsAtomic_AllInterleavings() =&gt; LabTest.Explore(async cx =&gt; { ... });
/// </code>
/// </example>
public static partial class LabTest
{
    /// <summary>Environment variable naming a trace file to replay instead of sweeping seeds.</summary>
    public const string ReplayVariable = "ASUPERSYNC_LAB_REPLAY";

    /// <summary>Environment variable naming the one seed to run instead of sweeping seeds.</summary>
    public const string SeedVariable = "ASUPERSYNC_LAB_SEED";

    /// <summary>Environment variable holding a replay handle (<see cref="LabRunResult.ReplayHandle"/>) to run instead of sweeping or exploring.</summary>
    public const string ScheduleVariable = "ASUPERSYNC_LAB_SCHEDULE";

    /// <summary>Runs <paramref name="program"/> under <paramref name="count"/> seeds; throws on the first failing one.</summary>
    /// <param name="count">How many seeds.</param>
    /// <param name="program">The program.</param>
    /// <param name="options">Lab settings (chaos, extra oracles, trace directory).</param>
    /// <param name="firstSeed">The first seed (seeds are first, first+1, …; each is expanded, so they are unrelated).</param>
    /// <param name="testName">The test's name, used in trace file names and the replay command (filled in by the compiler).</param>
    /// <returns>The last run (all passed).</returns>
    /// <exception cref="LabFailureException">A run failed.</exception>
    public static LabRunResult ForSeeds(int count, Func<Cx, Task> program, LabOptions? options = null, ulong firstSeed = 0, [CallerMemberName] string testName = "")
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var o = (options ?? LabOptions.Default) with { ProgramName = options?.ProgramName ?? testName };
        if (ReplayScheduleFromEnvironment(program, o) is { } scheduled) return scheduled;
        if (Environment.GetEnvironmentVariable(ReplayVariable) is { Length: > 0 } path && Matches(path, o.ProgramName))
        {
            var replay = LabRuntime.Replay(path, program, o);
            replay.TracePath = path;
            if (!replay.Passed) throw new LabFailureException("Replayed trace failed:" + Environment.NewLine + replay.Describe(), replay);
            return replay;
        }
        if (Environment.GetEnvironmentVariable(SeedVariable) is { Length: > 0 } s && ulong.TryParse(s, out var only))
        {
            firstSeed = only;
            count = 1;
        }
        // Determinism self-check on the first seed: the same seed must give the same trace.
        var check = LabRuntime.CheckDeterminism(firstSeed, program, o);
        if (check.OracleFailures.Any(f => f.Oracle == LabOracles.Determinism))
            Throw(check, program, o, $"is not deterministic: seed {firstSeed} gave two different traces");
        LabRunResult last = null!;
        for (int i = 0; i < count; i++)
        {
            last = LabRuntime.Run(firstSeed + (ulong)i, program, o);
            if (!last.Passed) Throw(last, program, o, $"failed on seed {last.Seed} (run {i + 1} of {count})");
        }
        return last;
    }

    /// <summary>Explores <paramref name="program"/> (DPOR by default) and throws on the first failing schedule.</summary>
    /// <param name="program">The program.</param>
    /// <param name="options">Strategy and bounds.</param>
    /// <param name="testName">The test's name (filled in by the compiler).</param>
    /// <returns>The exploration summary (no failure).</returns>
    /// <exception cref="LabFailureException">A schedule failed.</exception>
    public static ExploreResult Explore(Func<Cx, Task> program, ExploreOptions? options = null, [CallerMemberName] string testName = "")
    {
        ArgumentNullException.ThrowIfNull(program);
        options ??= new ExploreOptions();
        var lab = options.Lab with { ProgramName = options.Lab.ProgramName ?? testName };
        if (ReplayScheduleFromEnvironment(program, lab) is not null)
            return new ExploreResult(options.Strategy, 1, 0, new HashSet<ulong>(), 0, false, "replayed " + ScheduleVariable, [], TimeSpan.Zero);
        if (Environment.GetEnvironmentVariable(ReplayVariable) is { Length: > 0 } path && Matches(path, lab.ProgramName))
        {
            var replay = LabRuntime.Replay(path, program, lab);
            replay.TracePath = path;
            if (!replay.Passed) throw new LabFailureException("Replayed trace failed:" + Environment.NewLine + replay.Describe(), replay);
            return new ExploreResult(options.Strategy, 1, 0, new HashSet<ulong>(), 0, false, "replayed " + path, [], TimeSpan.Zero);
        }
        var result = LabRuntime.Explore(program, options with { Lab = lab });
        if (result.FirstFailure is { } f) Throw(f, program, lab, $"exploration ({result.Strategy}) found a failing schedule after {result.Schedules} schedules");
        return result;
    }

    private static LabRunResult? ReplayScheduleFromEnvironment(Func<Cx, Task> program, LabOptions options)
    {
        if (Environment.GetEnvironmentVariable(ScheduleVariable) is not { Length: > 0 } handle) return null;
        var replay = LabRuntime.ReplaySchedule(handle, program, options);
        if (!replay.Passed) throw new LabFailureException("Replayed schedule failed:" + Environment.NewLine + replay.Describe(), replay);
        return replay;
    }

    private static bool Matches(string tracePath, string? programName)
    {
        try
        {
            var name = LabTrace.Load(tracePath).ProgramName;
            return name is null || programName is null || name == programName;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void Throw(LabRunResult failed, Func<Cx, Task> program, LabOptions options, string what)
    {
        var path = failed.TracePath ?? failed.SaveTrace(options.TraceDirectory);
        // Prove the report is actionable: replay the failure from the file just written.
        var replay = LabRuntime.Replay(path, program, options);
        bool reproduced = !replay.Passed
            && !replay.OracleFailures.Any(f => f.Oracle == LabOracles.Determinism && f.Message.StartsWith("replay diverged", StringComparison.Ordinal))
            && replay.OracleFailures.Select(f => f.Oracle).SequenceEqual(failed.OracleFailures.Select(f => f.Oracle));
        var message = $"Lab test {options.ProgramName} {what}." + Environment.NewLine + failed.Describe() + Environment.NewLine +
                      (reproduced ? "  replayed from the trace file: the failure reproduces." : "  WARNING: replaying the trace file did not reproduce the failure:" + Environment.NewLine + replay.Describe());
        throw new LabFailureException(message, failed);
    }
}
