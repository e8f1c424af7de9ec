namespace Asupersync;

/// <summary>The lifecycle of a task: <c>Created → Running → CancelRequested → Cancelling → Finalizing → Completed</c>.</summary>
public enum TaskState
{
    /// <summary>Spawned, first step not yet run.</summary>
    Created,

    /// <summary>Running normally.</summary>
    Running,

    /// <summary>A cancel was requested; the task has not yet acknowledged it at a checkpoint.</summary>
    CancelRequested,

    /// <summary>The task acknowledged the cancel and is draining (its cleanup code runs).</summary>
    Cancelling,

    /// <summary>The body has ended; obligations are being settled.</summary>
    Finalizing,

    /// <summary>Done; the outcome is available.</summary>
    Completed,
}

/// <summary>The lifecycle of a region: <c>Open → Closing → Draining → Finalizing → Closed</c>.</summary>
public enum RegionState
{
    /// <summary>The body is running; tasks, child regions and obligations are admitted.</summary>
    Open,

    /// <summary>The body has returned; the region waits for its tasks (which may still spawn siblings).</summary>
    Closing,

    /// <summary>The region was cancelled: it admits nothing new and waits for its cancelled tasks.</summary>
    Draining,

    /// <summary>All tasks are done; region finalizers run (LIFO).</summary>
    Finalizing,

    /// <summary>Closed with its aggregate outcome.</summary>
    Closed,
}

/// <summary>How a region reacts to a failing task.</summary>
public enum RegionPolicy
{
    /// <summary>The default: an Err or Panicked task cancels its siblings with <see cref="CancelKind.FailFast"/>.</summary>
    FailFast,

    /// <summary>Every task runs to its end; the region's outcome joins them all.</summary>
    CollectAll,
}

/// <summary>What the runtime does when a task ends Ok or Err while still holding a Reserved obligation.</summary>
public enum LeakResponse
{
    /// <summary>Default: the obligation is aborted, the leak is reported in diagnostics, and the holder's outcome (and so its region's) becomes Err.</summary>
    Fail,

    /// <summary>The obligation is aborted and the leak reported in diagnostics only.</summary>
    Record,

    /// <summary>Like <see cref="Record"/>, and the runtime also writes the leak to standard error at once (for programs that do not watch <see cref="Runtime.Diagnostics"/>).</summary>
    Log,

    /// <summary>The obligation is aborted and the leak only counted (<see cref="RuntimeDiagnostics.ObligationsLeaked"/>): no diagnostic event, no change of outcome. The Lab's ObligationLeak oracle still sees it.</summary>
    Silent,

    /// <summary>The obligation is aborted, the leak reported, and the holder's outcome becomes Panicked (an <see cref="ObligationLeakedException"/>): under fail-fast its siblings are cancelled, and the region ends Panicked.</summary>
    Panic,
}

/// <summary>Thrown when spawning, opening a region or reserving an obligation in a region that no longer admits them.</summary>
public sealed class RegionClosedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="regionName">The region.</param>
    /// <param name="state">Its state.</param>
    /// <param name="what">What was refused.</param>
    public RegionClosedException(string regionName, RegionState state, string what)
        : base($"Region '{regionName}' is {state} and does not admit {what}.")
    {
        RegionName = regionName;
        State = state;
    }

    /// <summary>The region's name.</summary>
    public string RegionName { get; }

    /// <summary>The region's state when the request was refused.</summary>
    public RegionState State { get; }
}

/// <summary>Thrown when a region's configured limit on tasks, child regions or obligations would be exceeded.</summary>
public sealed class RegionLimitExceededException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="regionName">The region.</param>
    /// <param name="limit">Which limit.</param>
    /// <param name="value">The limit's value.</param>
    public RegionLimitExceededException(string regionName, string limit, int value)
        : base($"Region '{regionName}' reached its {limit} limit of {value}.")
    {
        RegionName = regionName;
        Limit = limit;
    }

    /// <summary>The region's name.</summary>
    public string RegionName { get; }

    /// <summary>The name of the limit (MaxTasks, MaxChildRegions, MaxObligations).</summary>
    public string Limit { get; }
}
