namespace Asupersync.Model;

/// <summary>The model's task states (DESIGN §2.5).</summary>
public enum TaskPhase
{
    /// <summary>Spawned, not yet run.</summary>
    Created,

    /// <summary>Running normally.</summary>
    Running,

    /// <summary>A cancel is pending, not yet acknowledged.</summary>
    CancelRequested,

    /// <summary>The cancel was raised; the task drains.</summary>
    Cancelling,

    /// <summary>The body ended; obligations are settled.</summary>
    Finalizing,

    /// <summary>Done, with an outcome.</summary>
    Completed,
}

/// <summary>The model's region states (DESIGN §2.6).</summary>
public enum RegionPhase
{
    /// <summary>The body runs; everything is admitted.</summary>
    Open,

    /// <summary>The body returned; its own tasks may still spawn.</summary>
    Closing,

    /// <summary>Cancelled; nothing new is admitted.</summary>
    Draining,

    /// <summary>No task is live; finalizers run.</summary>
    Finalizing,

    /// <summary>Closed, with an outcome.</summary>
    Closed,
}

/// <summary>The model's obligation states (DESIGN §2.7); the last three are final.</summary>
public enum ObligationPhase
{
    /// <summary>Reserved, not yet resolved.</summary>
    Reserved,

    /// <summary>Committed.</summary>
    Committed,

    /// <summary>Aborted.</summary>
    Aborted,

    /// <summary>Leaked (recorded and aborted by the runtime).</summary>
    Leaked,
}

/// <summary>The model's record of a task.</summary>
internal sealed class MTask
{
    internal long Id;
    internal long Region;
    internal bool Internal;
    internal TaskPhase Phase;
    internal Level Outcome;
    internal int Tier = -1;               // -1: no cancel requested
    internal long CleanupDeadline = Lattice.NoDeadline;
    internal bool PollLimited;
    internal int Raises;                  // 0, 1 (acknowledged), 2 (the budget raise)
    internal bool Overran;
    internal int Mask;
    internal long Deadline = Lattice.NoDeadline;
    internal int OpenOwned;               // regions it opened that are not closed
    internal int Held;                    // Reserved obligations it holds
    internal bool Leaked;                 // leaked an obligation at its end
    internal bool PendingPropagation;     // first cancel in this step: its open regions must be cancelled by the step's end

    public override string ToString() =>
        $"task {Id} (region {Region}{(Internal ? ", internal" : "")}): {Phase}{(Phase == TaskPhase.Completed ? "(" + Outcome + ")" : "")}" +
        $", tier {Tier}, raises {Raises}, mask {Mask}, held {Held}, open regions {OpenOwned}" +
        (CleanupDeadline != Lattice.NoDeadline ? $", cleanup deadline {CleanupDeadline}" : "");
}

/// <summary>The model's record of a region.</summary>
internal sealed class MRegion
{
    internal long Id;
    internal long Parent;
    internal long Owner;
    internal bool OpenedInCleanup;        // opened by an owner whose cancel was already requested: part of its cleanup
    internal RegionPhase Phase;
    internal long Deadline = Lattice.NoDeadline;
    internal int Live;                    // tasks admitted and not completed
    internal long Main;                   // the body task (the first task admitted), 0 until spawned
    internal bool MainDone;
    internal int OpenChildren;
    internal int Finalizers;              // registered
    internal int FinalizersStarted;       // finalizer tasks spawned
    internal int FinalizersRun;           // finalizer bodies started
    internal int Ledger;                  // Reserved obligations
    internal Level Failures;              // join of the Err/Panicked outcomes of its tasks
    internal Level Seen;                  // join of every outcome of its tasks, of Cancelled if it was cancelled, of Err if it leaked
    internal bool PendingPropagation;     // became Draining in this step: its live tasks must be cancelled by the step's end
    internal Level ClosedOutcome;

    public override string ToString() =>
        $"region {Id} (parent {Parent}, owner {Owner}): {Phase}{(Phase == RegionPhase.Closed ? "(" + ClosedOutcome + ")" : "")}" +
        $", live {Live}, open children {OpenChildren}, finalizers {FinalizersRun}/{Finalizers}, ledger {Ledger}" +
        (Deadline != Lattice.NoDeadline ? $", deadline {Deadline}" : "");
}

/// <summary>The model's record of an obligation.</summary>
internal sealed class MObligation
{
    internal long Id;
    internal long Holder;
    internal long Region;
    internal ObligationPhase Phase;

    public override string ToString() => $"obligation {Id} (holder {Holder}, region {Region}): {Phase}";
}
