namespace Asupersync.Lab.Exploration;

/// <summary>How <see cref="LabRuntime.Explore"/> picks schedules.</summary>
public enum ExploreStrategy
{
    /// <summary>Random walk: each schedule is a fresh seed; every step picks uniformly among the enabled processes.</summary>
    Random,

    /// <summary>
    /// Probabilistic concurrency testing: random priorities per process, the highest-priority enabled process
    /// runs, and <see cref="ExploreOptions.PctDepth"/> − 1 random change points lower the running process's
    /// priority. Finds a bug of depth d with probability at least 1/(n·k^(d−1)) per schedule.
    /// </summary>
    Pct,

    /// <summary>
    /// Dynamic partial-order reduction (source sets with sleep sets): re-runs the program with forced prefixes,
    /// reversing only races between dependent steps (steps touching a common runtime object), so that each
    /// Mazurkiewicz class of complete runs is explored once.
    /// </summary>
    Dpor,

    /// <summary>Depth-first enumeration of every schedule, without reduction (the baseline DPOR is measured against).</summary>
    Exhaustive,
}

/// <summary>Strategy and bounds of an exploration.</summary>
public sealed record ExploreOptions
{
    /// <summary>The strategy (default DPOR).</summary>
    public ExploreStrategy Strategy { get; init; } = ExploreStrategy.Dpor;

    /// <summary>The most schedules to run (default 10,000).</summary>
    public int MaxSchedules { get; init; } = 10_000;

    /// <summary>The most steps per schedule (default 10,000); a longer run is a StepLimit failure.</summary>
    public int MaxStepsPerSchedule { get; init; } = 10_000;

    /// <summary>A wall-clock bound on the whole exploration (default 60 s); results say when it stopped the search.</summary>
    public TimeSpan MaxWallTime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The most preemptions per schedule (switching away from a task that could have continued), or null for no
    /// bound. Bounded search finds most real bugs with few preemptions; DPOR does not support a bound (it would lose
    /// its one-run-per-class guarantee).
    /// </summary>
    public int? MaxPreemptions { get; init; }

    /// <summary>PCT bug depth d (default 3): d − 1 priority change points per schedule.</summary>
    public int PctDepth { get; init; } = 3;

    /// <summary>
    /// The base seed: random and PCT derive one seed per schedule from it; DPOR and exhaustive search use it for
    /// entropy (<see cref="Cx.NextRandom()"/>) in every schedule.
    /// </summary>
    public ulong Seed { get; init; }

    /// <summary>Stop at the first failing schedule (default true).</summary>
    public bool StopOnFirstFailure { get; init; } = true;

    /// <summary>Settings of each run (oracles, runtime options, trace directory). Chaos is allowed for random and PCT only.</summary>
    public LabOptions Lab { get; init; } = LabOptions.Default;
}
