namespace Asupersync;

/// <summary>Why a cancel was requested. Kinds are grouped into severity tiers (see <see cref="CancelReason.Tier"/>).</summary>
public enum CancelKind
{
    /// <summary>Explicitly requested by user code (tier 0).</summary>
    User = 0,

    /// <summary>A relative timeout elapsed (tier 1).</summary>
    Timeout = 1,

    /// <summary>An absolute deadline passed (tier 1).</summary>
    Deadline = 2,

    /// <summary>The task used up its poll quota (tier 2).</summary>
    PollQuota = 3,

    /// <summary>The task used up its cost quota (tier 2).</summary>
    CostBudget = 4,

    /// <summary>A sibling failed in a fail-fast region (tier 3).</summary>
    FailFast = 5,

    /// <summary>The task lost a race (tier 3).</summary>
    RaceLost = 6,

    /// <summary>A linked task exited (tier 3).</summary>
    LinkedExit = 7,

    /// <summary>An enclosing region or owning task was cancelled (tier 4).</summary>
    ParentCancelled = 8,

    /// <summary>A resource the task depends on went away (tier 4).</summary>
    ResourceUnavailable = 9,

    /// <summary>The runtime is shutting down (tier 5).</summary>
    Shutdown = 10,

    /// <summary>The task was cancelled to break a proven deadlock (a trapped wait-for cycle; tier 4). Only when <see cref="RuntimeOptions.BreakDeadlocks"/> is set.</summary>
    Deadlock = 11,
}
