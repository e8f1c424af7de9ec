namespace Asupersync;

/// <summary>Settings of a <see cref="Runtime"/>. Every property has a sensible default.</summary>
public sealed record RuntimeOptions
{
    /// <summary>Number of worker threads (default: the processor count).</summary>
    public int? WorkerCount { get; init; }

    /// <summary>
    /// The clock the production runtime reads and arms its timer pump with (default <see cref="TimeProvider.System"/>).
    /// Runtime time is the time elapsed on this provider since the runtime started.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

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

    internal TimeSpan CleanupAllowanceFor(CancelKind kind) =>
        CleanupAllowances is not null && CleanupAllowances.TryGetValue(kind, out var t) ? t : CancelReason.DefaultCleanupAllowance(kind);
}
