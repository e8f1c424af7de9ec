using System.Text;

namespace Asupersync.Lab.Exploration;

/// <summary>What an exploration did and found.</summary>
public sealed class ExploreResult
{
    internal ExploreResult(ExploreStrategy strategy, int schedules, int pruned, IReadOnlySet<ulong> classes, int redundant, bool exhausted,
        string stopReason, IReadOnlyList<LabRunResult> failures, TimeSpan elapsed)
    {
        Strategy = strategy;
        Schedules = schedules;
        PrunedSchedules = pruned;
        ClassFingerprints = classes;
        RedundantSchedules = redundant;
        Exhausted = exhausted;
        StopReason = stopReason;
        Failures = failures;
        Elapsed = elapsed;
    }

    /// <summary>The strategy used.</summary>
    public ExploreStrategy Strategy { get; }

    /// <summary>Schedules run to their end (complete, deadlocked or failed).</summary>
    public int Schedules { get; }

    /// <summary>Schedules DPOR abandoned early because every enabled step was in the sleep set (no new class below).</summary>
    public int PrunedSchedules { get; }

    /// <summary>The Foata-normal-form fingerprints of the complete schedules seen: one per Mazurkiewicz class.</summary>
    public IReadOnlySet<ulong> ClassFingerprints { get; }

    /// <summary>How many distinct Mazurkiewicz classes were seen.</summary>
    public int DistinctClasses => ClassFingerprints.Count;

    /// <summary>Complete schedules whose class had already been seen (0 for DPOR).</summary>
    public int RedundantSchedules { get; }

    /// <summary>True when a systematic strategy (DPOR, exhaustive) covered every class within the bounds.</summary>
    public bool Exhausted { get; }

    /// <summary>Why the exploration stopped (exhausted, schedule bound, wall-time bound, first failure).</summary>
    public string StopReason { get; }

    /// <summary>Failing runs, each re-run with full event recording and replayable from its trace.</summary>
    public IReadOnlyList<LabRunResult> Failures { get; }

    /// <summary>The 1-based index, among <see cref="Schedules"/>, of the first failing schedule (0 when none failed).</summary>
    public int FirstFailureSchedule { get; init; }

    /// <summary>The strategy that ran the first failing schedule (for the portfolio, its member: random, pct2, dpor…), or null.</summary>
    public string? FirstFailureStrategy { get; init; }

    /// <summary>How steps that run user code were related by the search (see <see cref="Lab.SharedState"/>).</summary>
    public SharedState SharedState { get; init; }

    /// <summary>The first failing run, or null.</summary>
    public LabRunResult? FirstFailure => Failures.Count > 0 ? Failures[0] : null;

    /// <summary>Wall-clock time spent (informational only).</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>A summary for test output.</summary>
    /// <returns>The text.</returns>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append("Exploration (").Append(Strategy).Append("): ").Append(Schedules).Append(" schedules, ")
          .Append(DistinctClasses).Append(" classes, ").Append(PrunedSchedules).Append(" pruned, shared state ").Append(SharedState.ToString().ToLowerInvariant())
          .Append(", stopped: ").Append(StopReason);
        if (FirstFailureSchedule > 0) sb.Append(" (first failure: schedule ").Append(FirstFailureSchedule).Append(", ").Append(FirstFailureStrategy).Append(')');
        if (FirstFailure is { } f) sb.AppendLine().Append(f.Describe());
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => Describe();
}
