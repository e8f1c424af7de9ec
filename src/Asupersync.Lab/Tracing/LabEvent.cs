namespace Asupersync.Lab;

/// <summary>What a <see cref="LabEvent"/> records.</summary>
public enum LabEventKind : byte
{
    /// <summary>The scheduler ran one step of a task (<see cref="LabEvent.TaskId"/>; <see cref="LabEvent.Text"/> is its name).</summary>
    Step,

    /// <summary>The scheduler fired the earliest due timer (a step of the virtual clock); <see cref="LabEvent.Aux"/> is its due time in ticks.</summary>
    TimerFired,

    /// <summary>Nothing was ready: virtual time jumped to <see cref="LabEvent.Aux"/> ticks.</summary>
    TimeAdvanced,

    /// <summary>A task was spawned in region <see cref="LabEvent.ObjectId"/>; <see cref="LabEvent.Extra"/> is its deadline in ticks (-1 none).</summary>
    Spawned,

    /// <summary>
    /// A cancel was requested (or strengthened); <see cref="LabEvent.Code"/> is the <see cref="CancelKind"/> of the task's reason after
    /// strengthening, <see cref="LabEvent.Aux"/> its tier, <see cref="LabEvent.Extra"/> the task's cleanup deadline in ticks (-1 none) and
    /// <see cref="LabEvent.ObjectId"/> 1 when its cleanup budget also has a poll quota (0 otherwise).
    /// </summary>
    CancelRequested,

    /// <summary>A task raised its cancel at a checkpoint; <see cref="LabEvent.Code"/> is the raised <see cref="CancelKind"/>.</summary>
    CancelAcknowledged,

    /// <summary>A task overran its cleanup budget.</summary>
    BudgetOverrun,

    /// <summary>A task completed; <see cref="LabEvent.Code"/> is its <see cref="OutcomeKind"/>, <see cref="LabEvent.ObjectId"/> its region.</summary>
    Completed,

    /// <summary>A task started a runtime wait (<see cref="LabEvent.Text"/>: join, sleep, region, …) on <see cref="LabEvent.ObjectId"/>.</summary>
    Wait,

    /// <summary>A task's wait was interrupted by a cancel.</summary>
    WaitInterrupted,

    /// <summary>Region <see cref="LabEvent.ObjectId"/> opened; parent region in <see cref="LabEvent.Aux"/> (0 for a root), owner task in <see cref="LabEvent.TaskId"/>, deadline ticks in <see cref="LabEvent.Extra"/>.</summary>
    RegionOpened,

    /// <summary>Region <see cref="LabEvent.ObjectId"/> changed state; <see cref="LabEvent.Code"/> is the <see cref="Asupersync.RegionState"/>; for Closed, <see cref="LabEvent.Extra"/> is its <see cref="OutcomeKind"/>.</summary>
    RegionState,

    /// <summary>A finalizer was registered on region <see cref="LabEvent.ObjectId"/>.</summary>
    FinalizerRegistered,

    /// <summary>Finalizer number <see cref="LabEvent.Code"/> of region <see cref="LabEvent.ObjectId"/> started.</summary>
    FinalizerRun,

    /// <summary>Obligation <see cref="LabEvent.ObjectId"/> (holder <see cref="LabEvent.TaskId"/>, region <see cref="LabEvent.Aux"/>) entered <see cref="ObligationState"/> <see cref="LabEvent.Code"/>.</summary>
    Obligation,

    /// <summary>A task used an effect its Cx does not grant; <see cref="LabEvent.Text"/> names the capability.</summary>
    CapabilityViolation,

    /// <summary>Chaos requested a spurious cancel of <see cref="LabEvent.TaskId"/>.</summary>
    ChaosCancel,

    /// <summary>Chaos delayed the next step: virtual time moved forward by <see cref="LabEvent.Aux"/> ticks.</summary>
    ChaosDelay,

    /// <summary>A primitive reported a protocol violation through the observer (<see cref="LabEvent.Text"/>: "Oracle:message").</summary>
    PrimitiveViolation,

    /// <summary>A user-marked access to a shared variable (<see cref="LabAccess"/>); <see cref="LabEvent.Text"/> is its name.</summary>
    UserAccess,

    /// <summary>An oracle reported a failure (<see cref="LabEvent.Text"/>: oracle name).</summary>
    Failure,

    /// <summary>A task entered a cancel mask.</summary>
    MaskEntered,

    /// <summary>A task left a cancel mask.</summary>
    MaskExited,

    /// <summary>A cancel request left a task's cleanup budget at deadline <see cref="LabEvent.Aux"/> (ticks of virtual time; -1 for none) and poll limit <see cref="LabEvent.Extra"/> (-1 for none); reported on every request, so a later one can be checked never to lengthen either.</summary>
    CleanupBudget,

    /// <summary>Chaos injected an I/O fault into the virtual network; <see cref="LabEvent.Code"/> is the fault (0 reset, 1 short read, 2 short write, 3 accept failure, 4 connect refused, 5 connect timeout, 6 IoOp failure), <see cref="LabEvent.Text"/> the operation.</summary>
    ChaosIoFault,
}

/// <summary>One entry of a Lab trace. Which fields are meaningful depends on <see cref="Kind"/>.</summary>
/// <param name="Step">The scheduling step during which it happened (-1 before the first step).</param>
/// <param name="Kind">What happened.</param>
/// <param name="TaskId">The task involved (0 when none).</param>
/// <param name="ObjectId">The other runtime object involved (region, obligation, joined task; 0 when none).</param>
/// <param name="Aux">A kind-specific value (see <see cref="LabEventKind"/>).</param>
/// <param name="Extra">A second kind-specific value (deadlines in ticks, -1 for none).</param>
/// <param name="Code">A kind-specific enum value (outcome kind, cancel kind, state).</param>
/// <param name="Time">Virtual runtime time.</param>
/// <param name="Text">A name or message (may be null).</param>
public readonly record struct LabEvent(int Step, LabEventKind Kind, long TaskId, long ObjectId, long Aux, long Extra, int Code, TimeSpan Time, string? Text)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"#{Step} {Time.TotalMilliseconds}ms {Kind} task={TaskId} obj={ObjectId} aux={Aux} extra={Extra} code={Code}{(Text is null ? "" : " '" + Text + "'")}";
}
