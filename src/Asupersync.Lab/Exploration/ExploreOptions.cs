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
    /// <remarks>
    /// As published (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010): depth 1 is a random priority order
    /// with no change point; the change points are drawn uniformly over k, the length of the schedules actually
    /// observed (the longest run of the exploration so far; 16 before the first run).
    /// </remarks>
    Pct,

    /// <summary>
    /// Dynamic partial-order reduction (source sets with sleep sets): re-runs the program with forced prefixes,
    /// reversing only races between dependent steps (steps touching a common runtime object), so that each
    /// Mazurkiewicz class of complete runs is explored once.
    /// </summary>
    Dpor,

    /// <summary>Depth-first enumeration of every schedule, without reduction (the baseline DPOR is measured against).</summary>
    Exhaustive,

    /// <summary>
    /// A deterministic portfolio that interleaves random walk, PCT at depths 2 and 3 and DPOR under
    /// one schedule budget (a fixed rotation, each member with its own seed stream). Shallow bugs fall to random
    /// walk within a few schedules, deep ones to PCT, and the DPOR member keeps enumerating classes: when it has
    /// covered them all the exploration ends with <see cref="ExploreResult.Exhausted"/> — the only way a
    /// portfolio claims exhaustion.
    /// </summary>
    Portfolio,
}

/// <summary>Strategy and bounds of an exploration.</summary>
public sealed record ExploreOptions
{
    /// <summary>The strategy (default <see cref="ExploreStrategy.Portfolio"/>, as in the CLI: random walk, PCT and DPOR in one fixed, deterministic interleaving of schedules).</summary>
    public ExploreStrategy Strategy { get; init; } = ExploreStrategy.Portfolio;

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

    /// <summary>PCT bug depth d (default 3, at least 1): d − 1 priority change points per schedule. The portfolio uses its own depths.</summary>
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

    /// <summary>
    /// Called on the exploring thread about every <see cref="ProgressInterval"/> of wall-clock time, and once more
    /// (with <see cref="ExploreProgress.Finished"/> set) when the exploration ends; null (default) for none. For
    /// displays only: it sees counts, never a schedule, so it cannot change what is explored.
    /// </summary>
    public Action<ExploreProgress>? Progress { get; init; }

    /// <summary>How often <see cref="Progress"/> is called (default 1 s).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>A snapshot of a running exploration, for progress displays.</summary>
/// <param name="Schedules">Schedules run so far (DPOR's pruned ones not counted).</param>
/// <param name="PrunedSchedules">DPOR schedules pruned so far.</param>
/// <param name="Classes">Distinct interleaving classes (Foata fingerprints) seen so far.</param>
/// <param name="Failures">Failing schedules found so far.</param>
/// <param name="Elapsed">Wall-clock time so far.</param>
/// <param name="Finished">True for the last snapshot.</param>
public sealed record ExploreProgress(int Schedules, int PrunedSchedules, int Classes, int Failures, TimeSpan Elapsed, bool Finished)
{
    /// <summary>Schedules per wall-clock second so far.</summary>
    public double SchedulesPerSecond => Elapsed > TimeSpan.Zero ? Schedules / Elapsed.TotalSeconds : 0;
}
