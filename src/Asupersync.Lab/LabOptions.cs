using Asupersync.Lab.Chaos;

namespace Asupersync.Lab;

/// <summary>Settings of a Lab run. Every property has a default suited to unit tests.</summary>
public sealed record LabOptions
{
    /// <summary>The defaults.</summary>
    public static LabOptions Default { get; } = new();

    /// <summary>The most scheduling steps one run may take before it is stopped and reported (default 100,000).</summary>
    public int MaxSteps { get; init; } = 100_000;

    /// <summary>Kernel settings of the runtime the Lab drives (leak response, cleanup allowances, root capabilities).</summary>
    public RuntimeOptions Runtime { get; init; } = new() { PrintDiagnostics = false };

    /// <summary>The virtual wall clock at runtime time zero (what <see cref="Cx.UtcNow"/> starts from).</summary>
    public DateTimeOffset Epoch { get; init; } = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Seeded fault injection (spurious cancels and delays); default none.</summary>
    public ChaosOptions Chaos { get; init; } = ChaosOptions.None;

    /// <summary>Extra oracles to run next to the built-in ones; each run calls every factory once.</summary>
    public IReadOnlyList<Func<LabOracle>> Oracles { get; init; } = [];

    /// <summary>
    /// Whether every kernel event is recorded in the trace (default true). Exploration turns it off for speed
    /// and re-runs a failing schedule with it on.
    /// </summary>
    public bool RecordEvents { get; init; } = true;

    /// <summary>
    /// How long (wall clock) a run that is otherwise stuck waits for a continuation that a task's foreign await
    /// (Task.Delay, Task.Run, real I/O) may still deliver, so that it can be named in the determinism report
    /// (default 250 ms). Used only on runs that are already failing.
    /// </summary>
    public TimeSpan ForeignContinuationGrace { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Where failing runs save their traces (default: <c>asupersync-lab</c> under the temp directory).</summary>
    public string? TraceDirectory { get; init; }

    /// <summary>
    /// Called once per run, before the root starts, with the runtime the Lab drives: the place to install
    /// per-runtime services such as the virtual network (<c>rt =&gt; VirtualNetwork.Install(rt, options)</c>).
    /// Do not start or dispose anything on it: the Lab owns the run.
    /// </summary>
    public Action<Runtime>? ConfigureRuntime { get; init; }

    /// <summary>A name for the program, written to traces and replay commands (default: none).</summary>
    public string? ProgramName { get; init; }
}
