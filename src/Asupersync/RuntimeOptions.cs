namespace Asupersync;

/// <summary>Settings of a <see cref="Runtime"/>. Every property has a sensible default.</summary>
public sealed record RuntimeOptions
{
    /// <summary>Number of worker threads (default: the processor count).</summary>
    public int? WorkerCount { get; init; }

#pragma warning disable RS0030 // the production driver's clock: the one place the system clock enters the runtime (banned elsewhere)
    /// <summary>
    /// The clock the production runtime reads and arms its timer pump with (default <see cref="TimeProvider.System"/>).
    /// Runtime time is the time elapsed on this provider since the runtime started.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
#pragma warning restore RS0030

    /// <summary>What happens when a task ends Ok or Err still holding a Reserved obligation. Default <see cref="Asupersync.LeakResponse.Fail"/>.</summary>
    public LeakResponse LeakResponse { get; init; } = LeakResponse.Fail;

    /// <summary>How many consecutive cancel-lane dispatches a worker makes before it serves the other lanes once (default 16).</summary>
    public int CancelStreakLimit { get; init; } = 16;

    /// <summary>The capabilities of the root task (default all).</summary>
    public Capabilities RootCapabilities { get; init; } = Capabilities.All;

    /// <summary>
    /// Overrides the cleanup allowance per cancel kind (how long a task cancelled for that reason may drain).
    /// Kinds not listed use <see cref="CancelReason.DefaultCleanupAllowance"/>.
    /// </summary>
    public IReadOnlyDictionary<CancelKind, TimeSpan>? CleanupAllowances { get; init; }

    /// <summary>Whether <see cref="Runtime.Main(string[], Func{Cx, Task}, RuntimeOptions?)"/> writes diagnostics to standard error (default true).</summary>
    public bool PrintDiagnostics { get; init; } = true;

    /// <summary>
    /// Whether the runtime keeps the wait-for graph and reports a trapped wait cycle as a
    /// <see cref="DiagnosticKind.Deadlock"/> diagnostic the moment its last member parks (default true). The check runs only
    /// on the slow path of a wait (a task parking), never on an uncontended acquire.
    /// </summary>
    public bool DetectDeadlocks { get; init; } = true;

    /// <summary>
    /// Whether a proven deadlock is broken by cancelling one member of the cycle (the youngest task) with
    /// <see cref="CancelKind.Deadlock"/> (default false: report only).
    /// </summary>
    public bool BreakDeadlocks { get; init; }

    /// <summary>
    /// Whether the runtime maintains its potential (<see cref="Runtime.Potential"/>, the <c>asupersync.potential</c>
    /// gauge) — a few interlocked adds per spawn, completion, reserve, resolve and drain transition (default true).
    /// When false, every reading is zero.
    /// </summary>
    public bool TrackPotential { get; init; } = true;

    /// <summary>
    /// Whether the production scheduler steers by the potential (the Lyapunov governor): within the cancel lane and
    /// between the cancel and timed lanes it dispatches first the task whose progress lowers V fastest under
    /// <see cref="PotentialWeights"/> (ObligationFocused: holders of the oldest obligations first; DeadlineFocused: least
    /// slack first), within <see cref="CancelStreakLimit"/> so that no lane starves (default false: lanes in fixed order,
    /// cancel lane by severity then arrival). The Lab's schedulers choose among ready tasks themselves and ignore it.
    /// </summary>
    public bool SteerByPotential { get; init; }

    /// <summary>The weights of the runtime's potential (<see cref="Runtime.Potential"/>); null means <see cref="Asupersync.PotentialWeights.Default"/>.</summary>
    public PotentialWeights? PotentialWeights { get; init; }

    /// <summary>Test-only: a planted kernel bug (see <see cref="Kernel.KernelFault"/>); always None outside the mutation tests.</summary>
    internal Kernel.KernelFault Fault { get; init; }

    internal TimeSpan CleanupAllowanceFor(CancelKind kind) =>
        CleanupAllowances is not null && CleanupAllowances.TryGetValue(kind, out var t) ? t : CancelReason.DefaultCleanupAllowance(kind);
}
