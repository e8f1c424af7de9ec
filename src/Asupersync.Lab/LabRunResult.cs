using System.Text;

namespace Asupersync.Lab;

/// <summary>The result of one Lab run: the root outcome, the trace and what the oracles found.</summary>
public sealed class LabRunResult
{
    internal LabRunResult(ulong seed, Outcome<Unit>? outcome, LabTrace trace, int steps, TimeSpan virtualTime)
    {
        Seed = seed;
        Outcome = outcome;
        Trace = trace;
        Steps = steps;
        VirtualTime = virtualTime;
    }

    /// <summary>The run's seed.</summary>
    public ulong Seed { get; }

    /// <summary>The root region's outcome, or null when the run stopped before the root closed (deadlock, step limit, determinism failure).</summary>
    public Outcome<Unit>? Outcome { get; }

    /// <summary>Every decision and event of the run.</summary>
    public LabTrace Trace { get; }

    /// <summary>What the oracles reported (empty for a clean run).</summary>
    public IReadOnlyList<LabFailure> OracleFailures => Trace.Failures;

    /// <summary>Scheduling steps taken.</summary>
    public int Steps { get; }

    /// <summary>Virtual time at the end of the run.</summary>
    public TimeSpan VirtualTime { get; }

    /// <summary>Where the trace was saved, if it was.</summary>
    public string? TracePath { get; internal set; }

    /// <summary>
    /// True when the root closed, did not end Panicked (an exception escaping the program, such as a failed
    /// assertion inside it) and no oracle fired.
    /// </summary>
    public bool Passed => Outcome is { IsPanicked: false } && OracleFailures.Count == 0;

    /// <summary>The first failure, or null.</summary>
    public LabFailure? FirstFailure => OracleFailures.Count > 0 ? OracleFailures[0] : null;

    /// <summary>Saves the trace (to <paramref name="path"/>, or a file named after the seed in <paramref name="directory"/>) and remembers the path.</summary>
    /// <param name="directory">The directory (default: <c>asupersync-lab</c> under the temp directory).</param>
    /// <param name="path">An explicit path.</param>
    /// <returns>The path written.</returns>
    public string SaveTrace(string? directory = null, string? path = null)
    {
        directory ??= Path.Combine(Path.GetTempPath(), "asupersync-lab");
        path ??= Path.Combine(directory, $"{Sanitize(Trace.ProgramName ?? "lab")}-{Trace.Strategy}-seed{Seed}-{Trace.Hash:x16}.json");
        Trace.Save(path);
        TracePath = path;
        return path;
    }

    /// <summary>
    /// The run's replay handle: one line holding its seed and every scheduling decision, whatever strategy produced
    /// it. <see cref="LabRuntime.ReplaySchedule"/> (or <see cref="LabTest"/> with <c>ASUPERSYNC_LAB_SCHEDULE</c>)
    /// replays the run exactly from it.
    /// </summary>
    public string ReplayHandle => Lab.ReplayHandle.Format(Seed, Trace.Decisions);

    /// <summary>A one-line command that replays this run exactly (from its replay handle; the trace file replays it too).</summary>
    public string ReplayCommand =>
        $"ASUPERSYNC_LAB_SCHEDULE='{ReplayHandle}' dotnet test --filter \"FullyQualifiedName~{Trace.ProgramName ?? "<test>"}\"   (or: LabRuntime.ReplaySchedule(handle, program))";

    /// <summary>A report: seed, outcome, every failure with its objects, the trace path and the replay command.</summary>
    /// <returns>The text.</returns>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append("Lab run ").Append(Passed ? "passed" : "FAILED").Append(": seed ").Append(Seed)
          .Append(", strategy ").Append(Trace.Strategy)
          .Append(", ").Append(Steps).Append(" steps, virtual time ").Append(VirtualTime.TotalMilliseconds).Append(" ms")
          .Append(", outcome ").Append(Outcome?.ToString() ?? "(root never closed)").AppendLine();
        foreach (var f in OracleFailures)
        {
            sb.Append("  oracle ").Append(f.Oracle).Append(" at step ").Append(f.Step).Append(": ").Append(f.Message);
            if (f.Objects.Count > 0)
                sb.Append(" [").Append(string.Join(", ", f.Objects.Select(o => Trace.NameOf(o) is { } n ? $"{o} '{n}'" : o.ToString(System.Globalization.CultureInfo.InvariantCulture)))).Append(']');
            sb.AppendLine();
        }
        if (TracePath is not null) sb.Append("  trace: ").Append(TracePath).Append("   (replays with ASUPERSYNC_LAB_REPLAY='").Append(TracePath).AppendLine("')");
        sb.Append("  replay: ").Append(ReplayCommand);
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => Describe();

    private static string Sanitize(string s)
    {
        var chars = s.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        var r = new string(chars);
        return r.Length > 80 ? r[..80] : r;
    }
}
