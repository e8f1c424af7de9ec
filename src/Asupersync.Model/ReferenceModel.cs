using System.Text;

namespace Asupersync.Model;

/// <summary>Why an observed event is not a step of the model: the rule it should have been, what failed, and the model state.</summary>
/// <param name="Rule">The rule the event was matched against.</param>
/// <param name="Message">Which precondition or resulting state did not hold.</param>
/// <param name="State">The model's records of the objects involved, before the event.</param>
public sealed record Divergence(ModelRule Rule, string Message, string State)
{
    /// <inheritdoc />
    public override string ToString() => $"rule {Rule}: {Message} [model: {State}]";
}

/// <summary>Settings the model needs from the runtime it checks.</summary>
public sealed record ModelOptions
{
    /// <summary>True when a leak makes its holder's outcome at least Err (the kernel's <c>LeakResponse.Fail</c>, the default).</summary>
    public bool LeakFails { get; init; } = true;
}

/// <summary>
/// The executable reference model: the state of every task, region and obligation, and one method per
/// observable rule. Each method checks that the rule is enabled, applies it, and returns null; otherwise it
/// returns the <see cref="Divergence"/> and leaves the state as it was. The Lab's refinement oracle feeds every
/// kernel event of a run to it.
/// </summary>
/// <remarks>
/// Not thread-safe: one model per run, fed in trace order. The model is independent of the kernel (it shares
/// no code with it): it is the specification the kernel is checked against.
/// </remarks>
public sealed class ReferenceModel
{
    private const int MaxMask = 32;

    private readonly ModelOptions _options;
    private readonly Dictionary<long, MTask> _tasks = new();
    private readonly Dictionary<long, MRegion> _regions = new();
    private readonly Dictionary<long, MObligation> _obligations = new();
    private readonly List<MTask> _pendingTasks = new();
    private readonly List<MRegion> _pendingRegions = new();
    private long _now;
    private long _stepping; // the task whose step is running (0: the clock, or none)

    /// <summary>Creates an empty model.</summary>
    /// <param name="options">What the model needs to know of the runtime's configuration (default: <see cref="ModelOptions"/> defaults).</param>
    public ReferenceModel(ModelOptions? options = null) => _options = options ?? new ModelOptions();

    /// <summary>How many rules the model applied (observable and silent).</summary>
    public long Applied { get; private set; }

    /// <summary>The model's current virtual time, in ticks.</summary>
    public long Now => _now;

    /// <summary>The phase of task <paramref name="id"/>, or null when the model does not know it.</summary>
    /// <param name="id">A task id.</param>
    /// <returns>The phase.</returns>
    public TaskPhase? TaskPhaseOf(long id) => _tasks.TryGetValue(id, out var t) ? t.Phase : null;

    /// <summary>The phase of region <paramref name="id"/>, or null when the model does not know it.</summary>
    /// <param name="id">A region id.</param>
    /// <returns>The phase.</returns>
    public RegionPhase? RegionPhaseOf(long id) => _regions.TryGetValue(id, out var r) ? r.Phase : null;

    /// <summary>The phase of obligation <paramref name="id"/>, or null when the model does not know it.</summary>
    /// <param name="id">An obligation id.</param>
    /// <returns>The phase.</returns>
    public ObligationPhase? ObligationPhaseOf(long id) => _obligations.TryGetValue(id, out var o) ? o.Phase : null;

    // ------------------------------------------------------------------ clock

    /// <summary>Every event carries the virtual time: it never goes back (<see cref="ModelRule.TimeAdvance"/>).</summary>
    /// <param name="ticks">The event's time.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? Clock(long ticks)
    {
        if (ticks < _now) return Fail(ModelRule.TimeAdvance, $"virtual time went back from {_now} to {ticks}");
        _now = ticks;
        return null;
    }

    /// <summary>The clock fires a timer due at <paramref name="due"/> (<see cref="ModelRule.Tick"/>); a new step begins.</summary>
    /// <param name="due">The timer's due time in ticks.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? Tick(long due)
    {
        if (EndStep() is { } d) return d;
        if (due > _now) return Fail(ModelRule.Tick, $"a timer due at {due} fired at {_now}");
        _stepping = 0;
        Applied++;
        return null;
    }

    // ------------------------------------------------------------------ steps

    /// <summary>The scheduler runs a step of <paramref name="task"/> (<see cref="ModelRule.Step"/>, the first one <see cref="ModelRule.Start"/>).</summary>
    /// <param name="task">The task.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? Step(long task)
    {
        if (EndStep() is { } d) return d;
        if (!_tasks.TryGetValue(task, out var t)) return Fail(ModelRule.Step, $"task {task} ran but was never spawned");
        if (t.Phase == TaskPhase.Completed) return Fail(ModelRule.Step, $"task {task} ran after it completed", t);
        if (t.Phase == TaskPhase.Created) t.Phase = TaskPhase.Running;
        _stepping = task;
        Applied++;
        return null;
    }

    /// <summary>
    /// The end of a step (called before the next one starts, and at the end of the run): the cancels of this step
    /// reached everything they must reach (<see cref="ModelRule.CancelPropagate"/>).
    /// </summary>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? EndStep()
    {
        Divergence? found = null;
        foreach (var t in _pendingTasks)
        {
            t.PendingPropagation = false;
            if (found is not null || t.OpenOwned == 0 || t.Phase == TaskPhase.Completed) continue;
            foreach (var r in _regions.Values)
            {
                // A region the task opened after its cancel was requested is part of its cleanup: not cancelled at
                // birth (its body would never run) but bounded by the owner's cleanup deadline (checked at the open).
                if (r.Owner == t.Id && !r.OpenedInCleanup && r.Phase is RegionPhase.Open or RegionPhase.Closing)
                {
                    found = Fail(ModelRule.CancelPropagate, $"task {t.Id} was cancelled but region {r.Id} it opened was not", t, r);
                    break;
                }
            }
        }
        _pendingTasks.Clear();
        foreach (var r in _pendingRegions)
        {
            r.PendingPropagation = false;
            if (found is not null || r.Phase != RegionPhase.Draining) continue;
            foreach (var t in _tasks.Values)
            {
                if (t.Region == r.Id && t.Phase != TaskPhase.Completed && t.Tier < 0)
                {
                    found = Fail(ModelRule.CancelPropagate, $"region {r.Id} was cancelled but its live task {t.Id} was not", r, t);
                    break;
                }
            }
        }
        _pendingRegions.Clear();
        return found;
    }

    // ------------------------------------------------------------------ regions

    /// <summary>A region opens: a root (<paramref name="parent"/> 0) or a child opened by task <paramref name="owner"/> (<see cref="ModelRule.RegionOpen"/>, <see cref="ModelRule.RegionOpenChild"/>).</summary>
    /// <param name="region">The new region.</param>
    /// <param name="parent">Its parent region, 0 for a root.</param>
    /// <param name="owner">The task that opened it, 0 for a root.</param>
    /// <param name="deadline">Its deadline in ticks (<see cref="Lattice.NoDeadline"/> for none).</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? OpenRegion(long region, long parent, long owner, long deadline)
    {
        if (_regions.ContainsKey(region)) return Fail(ModelRule.RegionOpen, $"region {region} opened twice", _regions[region]);
        var r = new MRegion { Id = region, Parent = parent, Owner = owner, Deadline = deadline };
        if (parent != 0)
        {
            if (!_regions.TryGetValue(parent, out var p)) return Fail(ModelRule.RegionOpenChild, $"region {region} opened under unknown region {parent}");
            if (!_tasks.TryGetValue(owner, out var o)) return Fail(ModelRule.RegionOpenChild, $"region {region} opened by unknown task {owner}", p);
            if (o.Phase == TaskPhase.Completed) return Fail(ModelRule.RegionOpenChild, $"region {region} opened by completed task {owner}", o);
            if (o.Region != parent) return Fail(ModelRule.RegionOpenChild, $"region {region} opened under region {parent} by task {owner} of another region", o, p);
            // Admission: Open and Closing admit children; a Draining region only from a task whose cancel is pending
            // (its cleanup code may open a region, bounded by its cleanup deadline).
            bool admits = p.Phase is RegionPhase.Open or RegionPhase.Closing || (p.Phase == RegionPhase.Draining && o.Tier >= 0);
            if (!admits) return Fail(ModelRule.RegionOpenChild, $"region {parent} admitted child region {region} while {p.Phase}", p, o);
            if (deadline > p.Deadline || deadline > o.Deadline)
                return Fail(ModelRule.DeadlineMeet, $"child region {region} has deadline {deadline}, later than its parent's {p.Deadline} or its owner's {o.Deadline}", p, o);
            if (o.Tier >= 0)
            {
                r.OpenedInCleanup = true;
                if (o.CleanupDeadline != Lattice.NoDeadline && deadline > o.CleanupDeadline)
                    return Fail(ModelRule.DeadlineMeet, $"region {region}, opened by task {owner} after its cancel, has deadline {deadline}, later than the owner's cleanup deadline {o.CleanupDeadline}", p, o);
            }
            p.OpenChildren++;
            o.OpenOwned++;
        }
        _regions[region] = r;
        Applied++;
        return null;
    }

    /// <summary>A region reports a new state: Draining (<see cref="ModelRule.RegionCancel"/>), Finalizing (<see cref="ModelRule.RegionFinalize"/>) or Closed (<see cref="ModelRule.RegionClose"/>).</summary>
    /// <param name="region">The region.</param>
    /// <param name="phase">The state it reports.</param>
    /// <param name="outcome">For Closed: its outcome.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? RegionState(long region, RegionPhase phase, Level outcome = Level.Ok)
    {
        if (!_regions.TryGetValue(region, out var r)) return Fail(ModelRule.RegionCancel, $"unknown region {region} reported {phase}");
        switch (phase)
        {
            case RegionPhase.Draining:
                if (r.Phase is RegionPhase.Open or RegionPhase.Closing)
                {
                    r.Phase = RegionPhase.Draining;
                    r.Seen = Lattice.Join(r.Seen, Level.Cancelled);
                    if (!r.PendingPropagation)
                    {
                        r.PendingPropagation = true;
                        _pendingRegions.Add(r);
                    }
                    Applied++;
                    return null;
                }
                if (r.Phase == RegionPhase.Draining)
                {
                    Applied++;
                    return null; // RegionCancelStrengthen
                }
                return Fail(ModelRule.RegionCancel, $"region {region} became Draining from {r.Phase}", r);
            case RegionPhase.Finalizing:
                if (r.Phase is not (RegionPhase.Open or RegionPhase.Closing or RegionPhase.Draining))
                    return Fail(ModelRule.RegionFinalize, $"region {region} became Finalizing from {r.Phase}", r);
                if (r.Live > 0) return Fail(ModelRule.RegionFinalize, $"region {region} began finalizing with {r.Live} live task(s)", r, LiveTasks(region));
                if (r.Main != 0 && !r.MainDone) return Fail(ModelRule.RegionFinalize, $"region {region} began finalizing before its body completed", r);
                if (r.OpenChildren > 0) return Fail(ModelRule.RegionFinalize, $"region {region} began finalizing with {r.OpenChildren} open child region(s)", r);
                r.Phase = RegionPhase.Finalizing;
                Applied++;
                return null;
            case RegionPhase.Closed:
                if (r.Phase != RegionPhase.Finalizing) return Fail(ModelRule.RegionClose, $"region {region} closed from {r.Phase} (it must finalize first)", r);
                if (r.Live > 0) return Fail(ModelRule.RegionClose, $"region {region} closed with {r.Live} live task(s)", r, LiveTasks(region));
                if (r.OpenChildren > 0) return Fail(ModelRule.RegionClose, $"region {region} closed with {r.OpenChildren} open child region(s)", r);
                if (r.FinalizersRun != r.Finalizers) return Fail(ModelRule.RegionClose, $"region {region} closed after running {r.FinalizersRun} of its {r.Finalizers} finalizer(s)", r);
                if (r.Ledger > 0) return Fail(ModelRule.RegionClose, $"region {region} closed with {r.Ledger} Reserved obligation(s) in its ledger", r);
                if (outcome < r.Failures) return Fail(ModelRule.RegionClose, $"region {region} closed {outcome}, below the join of its tasks' failures ({r.Failures})", r);
                if (outcome > r.Seen) return Fail(ModelRule.RegionClose, $"region {region} closed {outcome}, above the join of everything it saw ({r.Seen})", r);
                r.Phase = RegionPhase.Closed;
                r.ClosedOutcome = outcome;
                if (r.Parent != 0 && _regions.TryGetValue(r.Parent, out var p)) p.OpenChildren--;
                if (r.Owner != 0 && _tasks.TryGetValue(r.Owner, out var o)) o.OpenOwned--;
                Applied++;
                return null;
            default:
                return Fail(ModelRule.RegionCancel, $"region {region} reported state {phase}, which the kernel never reports", r);
        }
    }

    /// <summary>A finalizer is registered on <paramref name="region"/> (<see cref="ModelRule.FinalizerRegister"/>).</summary>
    /// <param name="region">The region.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? RegisterFinalizer(long region)
    {
        if (!_regions.TryGetValue(region, out var r)) return Fail(ModelRule.FinalizerRegister, $"a finalizer was registered on unknown region {region}");
        if (r.Phase is RegionPhase.Finalizing or RegionPhase.Closed) return Fail(ModelRule.FinalizerRegister, $"region {region} accepted a finalizer while {r.Phase}", r);
        r.Finalizers++;
        Applied++;
        return null;
    }

    /// <summary>Finalizer number <paramref name="index"/> of <paramref name="region"/> starts (<see cref="ModelRule.FinalizerRun"/>): the last one not run yet (LIFO), in a step of the region's finalizer task.</summary>
    /// <param name="region">The region.</param>
    /// <param name="index">The finalizer's registration index.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? RunFinalizer(long region, int index)
    {
        if (!_regions.TryGetValue(region, out var r)) return Fail(ModelRule.FinalizerRun, $"a finalizer of unknown region {region} ran");
        if (r.Phase != RegionPhase.Finalizing) return Fail(ModelRule.FinalizerRun, $"finalizer {index} of region {region} ran while the region was {r.Phase}", r);
        int expected = r.Finalizers - 1 - r.FinalizersRun;
        if (index != expected) return Fail(ModelRule.FinalizerRun, $"finalizer {index} of region {region} ran, but the next one (LIFO) is {expected}", r);
        if (!_tasks.TryGetValue(_stepping, out var t) || !t.Internal || t.Region != region)
            return Fail(ModelRule.FinalizerRun, $"finalizer {index} of region {region} ran outside the region's finalizer task", r);
        r.FinalizersRun++;
        Applied++;
        return null;
    }

    // ------------------------------------------------------------------ tasks

    /// <summary>A task is admitted into <paramref name="region"/> (<see cref="ModelRule.Spawn"/>, <see cref="ModelRule.SpawnFinalizer"/>, <see cref="ModelRule.DeadlineMeet"/>).</summary>
    /// <param name="task">The new task.</param>
    /// <param name="region">Its region.</param>
    /// <param name="isInternal">True for a region's finalizer task.</param>
    /// <param name="deadline">Its deadline in ticks (<see cref="Lattice.NoDeadline"/> for none).</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? Spawn(long task, long region, bool isInternal, long deadline)
    {
        if (_tasks.ContainsKey(task)) return Fail(ModelRule.Spawn, $"task {task} spawned twice", _tasks[task]);
        if (!_regions.TryGetValue(region, out var r)) return Fail(ModelRule.Spawn, $"task {task} spawned into unknown region {region}");
        if (isInternal)
        {
            if (r.Phase != RegionPhase.Finalizing) return Fail(ModelRule.SpawnFinalizer, $"finalizer task {task} spawned while region {region} was {r.Phase}", r);
            if (r.Live > 0) return Fail(ModelRule.SpawnFinalizer, $"finalizer task {task} spawned while region {region} still had {r.Live} live task(s) (finalizers run one at a time, after every task)", r, LiveTasks(region));
            if (r.FinalizersStarted >= r.Finalizers) return Fail(ModelRule.SpawnFinalizer, $"finalizer task {task} spawned but region {region} has no finalizer left to run", r);
            r.FinalizersStarted++;
        }
        else
        {
            bool admits = r.Phase == RegionPhase.Open
                          || (r.Phase == RegionPhase.Closing && _tasks.TryGetValue(_stepping, out var s) && s.Region == region && s.Phase != TaskPhase.Completed);
            if (!admits) return Fail(ModelRule.Spawn, $"region {region} admitted task {task} while {r.Phase}{(r.Phase == RegionPhase.Closing ? " (a Closing region admits only its own running tasks' spawns)" : "")}", r);
        }
        if (deadline > r.Deadline) return Fail(ModelRule.DeadlineMeet, $"task {task} has deadline {deadline}, later than its region {region}'s {r.Deadline}", r);
        var t = new MTask { Id = task, Region = region, Internal = isInternal, Deadline = deadline, Mask = isInternal ? 1 : 0 };
        _tasks[task] = t;
        r.Live++;
        if (r.Main == 0 && !isInternal) r.Main = task;
        Applied++;
        return null;
    }

    /// <summary>A task starts a runtime wait (<see cref="ModelRule.WaitBlock"/>, <see cref="ModelRule.JoinBlock"/>, <see cref="ModelRule.RegionWait"/>).</summary>
    /// <param name="task">The waiting task.</param>
    /// <param name="what">What it waits for: "join" (on a task), "region" (on a region) or a primitive's name.</param>
    /// <param name="target">The awaited object.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? Wait(long task, string what, long target)
    {
        var rule = what switch { "join" => ModelRule.JoinBlock, "region" => ModelRule.RegionWait, _ => ModelRule.WaitBlock };
        if (Live(task, rule) is { } d) return d;
        if (rule == ModelRule.JoinBlock && _tasks.TryGetValue(target, out var j) && j.Phase == TaskPhase.Completed)
            return Fail(rule, $"task {task} blocked joining task {target}, which had already completed", j);
        if (rule == ModelRule.RegionWait && _regions.TryGetValue(target, out var r) && r.Phase == RegionPhase.Closed)
            return Fail(rule, $"task {task} blocked on region {target}, which had already closed", r);
        Applied++;
        return null;
    }

    /// <summary>A task's wait was interrupted (<see cref="ModelRule.WaitInterrupt"/>): only a cancel interrupts.</summary>
    /// <param name="task">The task.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? WaitInterrupted(long task)
    {
        if (Live(task, ModelRule.WaitInterrupt) is { } d) return d;
        var t = _tasks[task];
        if (t.Tier < 0) return Fail(ModelRule.WaitInterrupt, $"task {task}'s wait was interrupted without a cancel", t);
        Applied++;
        return null;
    }

    /// <summary>
    /// A cancel was requested or strengthened (<see cref="ModelRule.CancelRequest"/>, <see cref="ModelRule.CancelStrengthen"/>). The event
    /// reports the task's reason after strengthening and its cleanup budget after tightening.
    /// </summary>
    /// <param name="task">The task.</param>
    /// <param name="tier">The tier of its reason now.</param>
    /// <param name="cleanupDeadline">Its cleanup deadline now (<see cref="Lattice.NoDeadline"/> for none).</param>
    /// <param name="pollLimited">True when its cleanup budget also counts resumptions.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? RequestCancel(long task, int tier, long cleanupDeadline, bool pollLimited)
    {
        if (Live(task, ModelRule.CancelRequest) is { } d) return d;
        var t = _tasks[task];
        if (t.Tier >= 0)
        {
            if (tier < t.Tier) return Fail(ModelRule.CancelStrengthen, $"task {task}'s cancel reason was weakened from tier {t.Tier} to {tier}", t);
            if (cleanupDeadline > t.CleanupDeadline) return Fail(ModelRule.CancelStrengthen, $"task {task}'s cleanup deadline was lengthened from {t.CleanupDeadline} to {cleanupDeadline}", t);
        }
        bool first = t.Tier < 0;
        t.Tier = Lattice.Strengthen(t.Tier, tier);
        t.CleanupDeadline = Lattice.Meet(t.CleanupDeadline, cleanupDeadline);
        t.PollLimited |= pollLimited;
        if (t.Phase is TaskPhase.Created or TaskPhase.Running) t.Phase = TaskPhase.CancelRequested;
        if (first && t.OpenOwned > 0 && !t.PendingPropagation)
        {
            t.PendingPropagation = true;
            _pendingTasks.Add(t);
        }
        Applied++;
        return null;
    }

    /// <summary>Lab chaos requested a spurious cancel (<see cref="ModelRule.ChaosCancel"/>); the request itself follows as its own event.</summary>
    /// <param name="task">The victim.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? ChaosCancel(long task)
    {
        if (Live(task, ModelRule.ChaosCancel) is { } d) return d;
        Applied++;
        return null;
    }

    /// <summary>
    /// A checkpoint raised a cancel: the acknowledgement (<see cref="ModelRule.CancelAcknowledge"/>), or once more when the cleanup budget is
    /// spent (<see cref="ModelRule.CleanupExhaustedRaise"/>).
    /// </summary>
    /// <param name="task">The task.</param>
    /// <param name="tier">The tier of the raised reason.</param>
    /// <param name="budgetReason">True when the raised reason is the budget's (Deadline) one.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? Acknowledge(long task, int tier, bool budgetReason)
    {
        if (Live(task, ModelRule.CancelAcknowledge) is { } d) return d;
        var t = _tasks[task];
        switch (t.Raises)
        {
            case 0:
                if (t.Phase != TaskPhase.CancelRequested) return Fail(ModelRule.CancelAcknowledge, $"task {task} acknowledged a cancel in phase {t.Phase} (none was requested)", t);
                if (tier != t.Tier) return Fail(ModelRule.CancelAcknowledge, $"task {task} raised a tier-{tier} reason, but its pending reason is tier {t.Tier}", t);
                if (t.Mask > 0 && !Exhausted(t)) return Fail(ModelRule.MaskedCheckpoint, $"task {task} raised its cancel inside a mask (depth {t.Mask}) with its cleanup budget not spent", t);
                t.Phase = TaskPhase.Cancelling;
                t.Raises = 1;
                break;
            case 1:
                if (!budgetReason) return Fail(ModelRule.CleanupExhaustedRaise, $"task {task} raised its cancel a second time with a non-budget reason (a cancel is raised once)", t);
                if (!Exhausted(t)) return Fail(ModelRule.CleanupExhaustedRaise, $"task {task} raised its cancel a second time at {_now}, before its cleanup budget was spent (deadline {t.CleanupDeadline})", t);
                t.Raises = 2;
                break;
            default:
                return Fail(ModelRule.CleanupExhaustedRaise, $"task {task} raised its cancel a third time (once, plus once when the cleanup budget is spent)", t);
        }
        Applied++;
        return null;
    }

    /// <summary>A cancelled task is reported overrunning its cleanup budget (<see cref="ModelRule.BudgetOverrun"/>).</summary>
    /// <param name="task">The task.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? Overrun(long task)
    {
        if (Live(task, ModelRule.BudgetOverrun) is { } d) return d;
        var t = _tasks[task];
        if (t.Tier < 0) return Fail(ModelRule.BudgetOverrun, $"task {task} was reported overrunning a cleanup budget without a cancel", t);
        if (t.Overran) return Fail(ModelRule.BudgetOverrun, $"task {task} was reported overrunning twice", t);
        if (!Exhausted(t)) return Fail(ModelRule.BudgetOverrun, $"task {task} was reported overrunning at {_now}, before its cleanup deadline {t.CleanupDeadline}", t);
        t.Overran = true;
        Applied++;
        return null;
    }

    /// <summary>A task entered a cancel mask (<see cref="ModelRule.MaskEnter"/>).</summary>
    /// <param name="task">The task.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? EnterMask(long task)
    {
        if (Live(task, ModelRule.MaskEnter) is { } d) return d;
        var t = _tasks[task];
        if (t.Mask >= MaxMask) return Fail(ModelRule.MaskEnter, $"task {task} nested more than {MaxMask} masks", t);
        t.Mask++;
        Applied++;
        return null;
    }

    /// <summary>A task left a cancel mask (<see cref="ModelRule.MaskExit"/>).</summary>
    /// <param name="task">The task.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? ExitMask(long task)
    {
        if (Live(task, ModelRule.MaskExit) is { } d) return d;
        var t = _tasks[task];
        if (t.Mask > 0) t.Mask--;
        Applied++;
        return null;
    }

    /// <summary>
    /// A task completed with <paramref name="outcome"/> (<see cref="ModelRule.BodyEnd"/> taken silently, then one of the
    /// Complete rules): not Ok or Err once a cancel was requested, nothing left Reserved, no region it opened still open.
    /// </summary>
    /// <param name="task">The task.</param>
    /// <param name="outcome">Its outcome.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? Complete(long task, Level outcome)
    {
        var rule = outcome switch
        {
            Level.Ok => ModelRule.CompleteOk,
            Level.Err => ModelRule.CompleteErr,
            Level.Cancelled => ModelRule.CompleteCancelled,
            _ => ModelRule.CompletePanicked,
        };
        if (Live(task, rule) is { } d) return d;
        var t = _tasks[task];
        if (t.Tier >= 0 && outcome < Level.Cancelled)
            return Fail(rule, $"task {task} completed {outcome} although a cancel was requested (its outcome joins Cancelled)", t);
        if (t.Held > 0) return Fail(rule, $"task {task} completed {outcome} still holding {t.Held} Reserved obligation(s), neither aborted nor recorded as leaked", t);
        if (t.OpenOwned > 0) return Fail(rule, $"task {task} completed while {t.OpenOwned} region(s) it opened were still open", t);
        if (t.Leaked && _options.LeakFails && outcome < Level.Err)
            return Fail(ModelRule.Leak, $"task {task} leaked an obligation but completed {outcome} (a leak fails its holder)", t);
        Applied++; // BodyEnd
        t.Phase = TaskPhase.Completed;
        t.Outcome = outcome;
        var r = _regions[t.Region];
        r.Live--;
        if (outcome >= Level.Err && outcome != Level.Cancelled) r.Failures = Lattice.Join(r.Failures, outcome);
        r.Seen = Lattice.Join(r.Seen, outcome);
        if (t.Id == r.Main)
        {
            r.MainDone = true;
            if (r.Phase == RegionPhase.Open)
            {
                r.Phase = RegionPhase.Closing; // RegionBodyDone
                Applied++;
            }
        }
        Applied++;
        return null;
    }

    // ------------------------------------------------------------------ obligations

    /// <summary>An obligation entered <paramref name="phase"/> (<see cref="ModelRule.Reserve"/>, <see cref="ModelRule.Commit"/>, <see cref="ModelRule.Abort"/>, <see cref="ModelRule.Leak"/>).</summary>
    /// <param name="obligation">The obligation.</param>
    /// <param name="holder">Its holder task.</param>
    /// <param name="region">The region whose ledger holds it.</param>
    /// <param name="phase">The state it entered.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? Obligation(long obligation, long holder, long region, ObligationPhase phase)
    {
        if (phase == ObligationPhase.Reserved)
        {
            if (_obligations.ContainsKey(obligation)) return Fail(ModelRule.Reserve, $"obligation {obligation} reserved twice", _obligations[obligation]);
            if (Live(holder, ModelRule.Reserve) is { } d) return d;
            if (!_regions.TryGetValue(region, out var r)) return Fail(ModelRule.Reserve, $"obligation {obligation} reserved in unknown region {region}");
            var h = _tasks[holder];
            if (r.Phase == RegionPhase.Closed || (r.Phase == RegionPhase.Finalizing && !h.Internal))
                return Fail(ModelRule.Reserve, $"region {region} admitted obligation {obligation} of task {holder} while {r.Phase}", r, h);
            _obligations[obligation] = new MObligation { Id = obligation, Holder = holder, Region = region };
            r.Ledger++;
            h.Held++;
            Applied++;
            return null;
        }
        var rule = phase switch { ObligationPhase.Committed => ModelRule.Commit, ObligationPhase.Aborted => ModelRule.Abort, _ => ModelRule.Leak };
        if (!_obligations.TryGetValue(obligation, out var o)) return Fail(rule, $"unknown obligation {obligation} became {phase}");
        if (o.Phase != ObligationPhase.Reserved) return Fail(rule, $"obligation {obligation} left final state {o.Phase} for {phase}", o);
        var holderTask = _tasks[o.Holder];
        if (holderTask.Phase == TaskPhase.Completed)
            return Fail(rule, $"obligation {obligation} became {phase} after its holder task {o.Holder} completed", o, holderTask);
        o.Phase = phase;
        holderTask.Held--;
        var reg = _regions[o.Region];
        reg.Ledger--;
        if (phase == ObligationPhase.Leaked)
        {
            holderTask.Leaked = true;
            if (_options.LeakFails)
            {
                reg.Seen = Lattice.Join(reg.Seen, Level.Err);
                _regions[holderTask.Region].Seen = Lattice.Join(_regions[holderTask.Region].Seen, Level.Err);
            }
        }
        Applied++;
        return null;
    }

    // ------------------------------------------------------------------ end of run

    /// <summary>The run ended (<see cref="ModelRule.Quiescence"/>): when the root closed, everything is closed, completed and final.</summary>
    /// <param name="rootClosed">Whether the root region closed.</param>
    /// <returns>Null, or the divergence.</returns>
    public Divergence? End(bool rootClosed)
    {
        if (EndStep() is { } d) return d;
        if (!rootClosed) return null;
        foreach (var t in _tasks.Values)
            if (t.Phase != TaskPhase.Completed) return Fail(ModelRule.Quiescence, $"the root closed but task {t.Id} never completed", t);
        foreach (var r in _regions.Values)
            if (r.Phase != RegionPhase.Closed) return Fail(ModelRule.Quiescence, $"the root closed but region {r.Id} did not", r);
        foreach (var o in _obligations.Values)
            if (o.Phase == ObligationPhase.Reserved) return Fail(ModelRule.Quiescence, $"the root closed with obligation {o.Id} still Reserved", o);
        return null;
    }

    // ------------------------------------------------------------------ helpers

    private bool Exhausted(MTask t) => t.PollLimited || _now >= t.CleanupDeadline;

    private Divergence? Live(long task, ModelRule rule)
    {
        if (!_tasks.TryGetValue(task, out var t)) return Fail(rule, $"unknown task {task}");
        if (t.Phase == TaskPhase.Completed) return Fail(rule, $"task {task} acted ({rule}) after it completed", t);
        return null;
    }

    private MTask[] LiveTasks(long region) => _tasks.Values.Where(t => t.Region == region && t.Phase != TaskPhase.Completed).Take(4).ToArray();

    private static Divergence Fail(ModelRule rule, string message, params object[] state)
    {
        var sb = new StringBuilder();
        foreach (var s in state)
        {
            if (s is Array a)
            {
                foreach (var x in a)
                {
                    if (sb.Length > 0) sb.Append("; ");
                    sb.Append(x);
                }
                continue;
            }
            if (sb.Length > 0) sb.Append("; ");
            sb.Append(s);
        }
        return new Divergence(rule, message, sb.Length == 0 ? "(no record)" : sb.ToString());
    }
}
