using Asupersync.Time;

namespace Asupersync.Kernel;

/// <summary>
/// The kernel's record of one region: its live tasks, ledger of Reserved obligations, finalizers and
/// aggregate outcome. A region closes only when every task in it has completed; it then runs its
/// finalizers (LIFO, in an internal masked task), settles its ledger and becomes Closed.
/// </summary>
internal sealed class RegionCore
{
    internal readonly RuntimeCore Runtime;
    internal readonly long Id;
    internal readonly string Name;
    internal readonly RegionCore? Parent;
    internal readonly TaskCore? Owner;
    internal readonly RegionOptions Options;
    internal readonly Budget Budget; // resolved, met with the parent's
    internal readonly TaskBudget? TaskBudget; // what a task spawned without its own budget gets (shared)
    private readonly CancelKind _deadlineKind;

    private RegionState _state;
    private CancelReason? _reason;
    private Budget _cancelBudget;
    // Tasks are pushed on a singly linked list under the region lock (spawns and cancel walks take it) but
    // never unlinked on completion: a completing task only decrements _live (interlocked) and, unless it is
    // the body or failed, takes no lock at all. Completed entries are pruned, amortized, by later spawns.
    private TaskCore? _head;
    private int _listCount;
    private int _live;
    private bool _finishing;
    private long _spawned; // counted here and added to the runtime's total at close: no shared counter per spawn
    private TaskCore? _main;
    private bool _mainDone;
    private bool _failFastFired;
    private Outcome<Unit> _aggregate = Outcome.Ok();
    private List<Finalizer>? _finalizers;
    private List<Finalizer>? _pendingFinalizers; // while Finalizing: the ones not started yet (run from the end: LIFO)
    private List<Obligation>? _ledger;
    private List<RegionCore>? _children;
    private int _openChildren;
    private List<Action>? _closeWaiters;
    private TimerEntry? _deadlineTimer;

    internal RegionCore(RuntimeCore runtime, string name, RegionCore? parent, TaskCore? owner, RegionOptions options)
    {
        Runtime = runtime;
        Id = runtime.NextId();
        Name = name;
        Parent = parent;
        Owner = owner;
        Options = options;
        _deadlineKind = options.Budget.RelativeTimeout is not null ? CancelKind.Timeout : CancelKind.Deadline;
        var inherited = owner?.Budget ?? parent?.Budget ?? Budget.Unlimited;
        // A child's budget is parent ⊓ child. Quotas are per task, so only the deadline and priority are inherited.
        var own = options.Budget == default ? default : options.Budget.Resolve(runtime.Now);
        Budget = own.Meet(new Budget { Deadline = inherited.Deadline, Priority = inherited.Priority });
        TaskBudget = Budget == default ? null : new TaskBudget(Budget, _deadlineKind);
    }

    internal RegionState State { get { lock (this) return _state; } }

    internal bool IsClosed { get { lock (this) return _state == RegionState.Closed; } }

    internal CancelReason? Reason { get { lock (this) return _reason; } }

    internal Outcome<Unit> FinalOutcome { get; private set; }

    internal int LiveTasks => Volatile.Read(ref _live);

    /// <summary>Entries in the lazy task list, completed ones included (for tests of the pruning bound).</summary>
    internal int TaskListLength { get { lock (this) return _listCount; } }

    /// <summary>The child regions that are still open.</summary>
    internal IReadOnlyList<RegionCore> Children { get { lock (this) return _children?.ToArray() ?? []; } }

    /// <summary>Arms the region's deadline (a deadline cancels the whole region).</summary>
    internal void Start()
    {
        if (Budget.Deadline is { } d)
        {
            _deadlineTimer = Runtime.AddTimer(d, static s =>
            {
                var r = (RegionCore)s!;
                r.RequestCancel(new CancelReason(r._deadlineKind, r._deadlineKind == CancelKind.Timeout ? "region timed out" : "region deadline passed", r.Budget.Deadline!.Value, r.Id, 0), Budget.Unlimited);
            }, this);
        }
        Runtime.Observer?.OnRegionOpened(this);
    }

    // ---------------------------------------------------------------- admission

    /// <summary>A registered finalizer: its body (an Action or a Func&lt;Cx, Task&gt;), the registering Cx's capabilities and token authority, its index and name.</summary>
    private sealed record Finalizer(object Body, Capabilities Capabilities, TaskAuthority? Authority, int Index, string Name);

    internal TaskCore<T> Spawn<T>(string name, object body, Budget budget, Capabilities caps, bool isMain = false, bool isInternal = false, TaskAuthority? authority = null)
    {
        // Lab: a read of this region's state is an access even when nothing changes (dependency tracking).
        Runtime.Observer?.OnAccess(Id, "region");
        ArgumentNullException.ThrowIfNull(name);
        TaskCore<T> task;
        CancelReason? preCancel = null;
        Budget preBudget = default;
        lock (this)
        {
            if (!isInternal && _state is RegionState.Draining or RegionState.Finalizing or RegionState.Closed)
                throw new RegionClosedException(Name, _state, "new tasks");
            if (!isInternal && Options.MaxTasks is { } max && Volatile.Read(ref _live) >= max)
                throw new RegionLimitExceededException(Name, nameof(RegionOptions.MaxTasks), max);
            if (_listCount > 64 && _listCount > 2 * Volatile.Read(ref _live)) PruneLocked();
            task = new TaskCore<T>(this, name, Kernel.TaskBudget.For(this, budget, budget == default ? default : Runtime.Now), caps, body, isInternal);
            task.Authority = authority;
            // link
            task.RegionNext = _head;
            _head = task;
            _listCount++;
            Interlocked.Increment(ref _live);
            _spawned++;
            if (isMain) _main = task;
            if (isInternal && _reason is not null)
            {
                // A finalizer of a cancelled region runs under that cancel's cleanup budget: the region's cleanup
                // deadline (absolute, shared with every task it cancelled) and the cancel's poll quota.
                preCancel = _reason;
                preBudget = new Budget { Deadline = _cleanupDeadline == TimeSpan.MaxValue ? null : _cleanupDeadline, PollQuota = _cancelBudget.PollQuota };
            }
        }
        Runtime.Observer?.OnTaskSpawned(task);
        if (preCancel is not null)
        {
            var now = Runtime.Now;
            // Started with its budget already spent: it still runs (sync cleanup), its first wait raises, and it is
            // reported as overrunning only if it then keeps running past a short grace.
            if (preBudget.Deadline is { } d && d <= now) task.SetReportNotBefore(now + TaskCore.OverrunReportGrace);
            task.RequestCancel(preCancel, preBudget);
        }
        task.Start();
        return task;
    }

    internal RegionCore OpenChild(string name, TaskCore owner, RegionOptions options)
    {
        // Lab: a read of this region's state is an access even when nothing changes (dependency tracking).
        Runtime.Observer?.OnAccess(Id, "region");
        // An owner whose cancel is already requested (it is draining, or inside a mask) may still open a region:
        // cleanup code keeps working. Such a region is part of the owner's cleanup, so instead of being cancelled
        // at birth (its body would never run) it gets the owner's cleanup deadline as its own deadline.
        var ownerCleanup = owner.CleanupDeadlineIfCancelled;
        if (ownerCleanup is { } cd && cd != TimeSpan.MaxValue)
            options = options with { Budget = options.Budget.Meet(Budget.AtDeadline(cd)) };
        RegionCore child;
        lock (this)
        {
            if (_state is RegionState.Finalizing or RegionState.Closed || (_state == RegionState.Draining && ownerCleanup is null))
                throw new RegionClosedException(Name, _state, "new child regions");
            if (Options.MaxChildRegions is { } max && _openChildren >= max)
                throw new RegionLimitExceededException(Name, nameof(RegionOptions.MaxChildRegions), max);
            child = new RegionCore(Runtime, name, this, owner, options);
            (_children ??= new List<RegionCore>()).Add(child);
            _openChildren++;
        }
        owner.AddOwnedRegion(child);
        child.Start();
        return child;
    }

    internal Obligation Reserve(TaskCore holder, ObligationKind kind, string description, Action<Obligation, ObligationState>? onResolve)
    {
        // Lab: a read of this region's state is an access even when nothing changes (dependency tracking).
        Runtime.Observer?.OnAccess(Id, "region");
        Obligation o;
        lock (this)
        {
            // Live tasks (also draining ones, and the finalizer task) may still reserve: a goodbye message
            // needs a channel slot. A closed region has no live holder left.
            if (_state == RegionState.Closed || (_state == RegionState.Finalizing && !holder.IsInternal))
                throw new RegionClosedException(Name, _state, "new obligations");
            var ledger = _ledger ??= new List<Obligation>();
            if (Options.MaxObligations is { } max && ledger.Count >= max)
                throw new RegionLimitExceededException(Name, nameof(RegionOptions.MaxObligations), max);
            o = new Obligation(Runtime.NextId(), holder, this, kind, description, onResolve);
            ledger.Add(o);
        }
        holder.AddHeld(o);
        Runtime.Observer?.OnObligation(o, ObligationState.Reserved);
        return o;
    }

    internal void OnObligationResolved(Obligation o, ObligationState to)
    {
        lock (this) _ledger?.Remove(o);
        if (to == ObligationState.Leaked) Runtime.Diagnostics.OnLeakCounted();
        Runtime.Observer?.OnObligation(o, to);
    }

    internal void AddFinalizer(object finalizer, Capabilities caps, TaskAuthority? authority, string? name)
    {
        lock (this)
        {
            if (_state is RegionState.Finalizing or RegionState.Closed)
                throw new RegionClosedException(Name, _state, "new finalizers");
            var list = _finalizers ??= new List<Finalizer>();
            int index = list.Count;
            list.Add(new Finalizer(finalizer, caps, authority, index, name ?? $"finalizer #{index} of region '{Name}'"));
        }
        // Lab: lets the Finalizer oracle check that every registered finalizer runs exactly once.
        Runtime.Observer?.OnAccess(Id, "region.finalizer");
    }

    // ---------------------------------------------------------------- cancel

    /// <summary>Cancels the region: no new admissions, every live task gets the reason (strengthened).</summary>
    internal void RequestCancel(CancelReason reason, Budget cleanupBudget)
    {
        // Lab: a read of this region's state is an access even when nothing changes (dependency tracking).
        Runtime.Observer?.OnAccess(Id, "region");
        TaskCore[] tasks;
        CancelReason r;
        Budget b;
        var now = Runtime.Now;
        bool armTimer = false, finalizing;
        TimeSpan cleanupDeadline;
        lock (this)
        {
            if (_state == RegionState.Closed) return;
            _reason = CancelReason.Strengthen(_reason, reason);
            _cancelBudget = _cancelBudget.Meet(cleanupBudget);
            if (_state is RegionState.Open or RegionState.Closing) _state = RegionState.Draining;
            // While Finalizing, the only live task is the running finalizer: it is masked (it keeps running) but
            // now bounded by this cancel's cleanup budget.
            finalizing = _state == RegionState.Finalizing;
            tasks = SnapshotLocked();
            r = _reason!;
            // One cleanup deadline for the whole region, watched by one region timer instead of one per task.
            b = _cancelBudget.Meet(Budget.FromTimeout(Runtime.Options.CleanupAllowanceFor(r.Kind))).Resolve(now);
            cleanupDeadline = b.Deadline!.Value;
            if (cleanupDeadline < _cleanupDeadline)
            {
                _cleanupDeadline = cleanupDeadline;
                armTimer = true;
            }
        }
        if (armTimer)
        {
            var timer = Runtime.AddTimer(cleanupDeadline, static s => ((RegionCore)s!).OnCleanupDeadline(), this);
            TimerEntry? old;
            lock (this)
            {
                old = _cleanupTimer;
                _cleanupTimer = timer;
            }
            old?.Cancel();
        }
        if (!finalizing) Runtime.Observer?.OnRegionState(this, RegionState.Draining);
        // Oldest first: the list is newest-first.
        for (int i = tasks.Length - 1; i >= 0; i--) tasks[i].RequestCancel(r, b, _cleanupDeadline);
    }

    private TimeSpan _cleanupDeadline = TimeSpan.MaxValue;
    private TimerEntry? _cleanupTimer;

    private void OnCleanupDeadline()
    {
        TaskCore[] tasks;
        lock (this) tasks = SnapshotLocked();
        foreach (var t in tasks) t.OnCleanupDeadline();
    }

    /// <summary>The live tasks, oldest last. Caller holds the lock.</summary>
    private TaskCore[] SnapshotLocked()
    {
        var list = new List<TaskCore>(Volatile.Read(ref _live));
        for (var t = _head; t is not null; t = t.RegionNext)
        {
            if (!t.IsDone) list.Add(t);
        }
        return list.ToArray();
    }

    private void PruneLocked()
    {
        TaskCore? prev = null;
        for (var t = _head; t is not null;)
        {
            var next = t.RegionNext;
            if (t.IsDone)
            {
                if (prev is null) _head = next;
                else prev.RegionNext = next;
                t.RegionNext = null;
                _listCount--;
            }
            else
            {
                prev = t;
            }
            t = next;
        }
    }

    // ---------------------------------------------------------------- completion

    internal void OnTaskCompleted(TaskCore task, Outcome<Unit> outcome)
    {
        bool isMain = ReferenceEquals(task, _main);
        bool failFast = false;
        if (isMain || outcome.Kind is OutcomeKind.Err or OutcomeKind.Panicked)
        {
            lock (this)
            {
                // What a task's outcome adds to the region's:
                //  - Err and Panicked always count (a failure is never hidden);
                //  - a Cancelled task counts only if it is the body: a task cancelled through its handle, a race
                //    or its own budget was cancelled on purpose by someone who can see its outcome, and the
                //    region's own cancel (if any) is joined when it closes;
                //  - a task this region itself cancelled for fail-fast is a consequence, not a cause.
                // (An Ok or a non-body Cancelled outcome changes nothing, so it takes no lock.)
                bool consequence = outcome.CancelReason is { Kind: CancelKind.FailFast } cr && cr.OriginRegion == Id;
                if (!consequence && (outcome.Kind != OutcomeKind.Cancelled || isMain))
                    _aggregate = Outcome<Unit>.Join(_aggregate, outcome);
                if (isMain)
                {
                    _mainDone = true;
                    if (_state == RegionState.Open) _state = RegionState.Closing;
                }
                if (Options.Policy == RegionPolicy.FailFast && outcome.Kind is OutcomeKind.Err or OutcomeKind.Panicked
                    && !_failFastFired && _state is not (RegionState.Finalizing or RegionState.Closed) && !task.IsInternal)
                {
                    _failFastFired = true;
                    failFast = true;
                }
            }
        }
        if (failFast)
        {
            RequestCancel(new CancelReason(CancelKind.FailFast, $"task '{task.Name}' ended {outcome.Kind}", Runtime.Now, Id, task.Id), Budget.Unlimited);
        }
        if (Interlocked.Decrement(ref _live) == 0) TryQuiesce();
    }

    /// <summary>No task is live: start finalizing (or, after the finalizers, finish). Decided once, under the lock.</summary>
    private void TryQuiesce()
    {
        bool finalize = false, finish = false, next = false;
        lock (this)
        {
            if (Volatile.Read(ref _live) != 0 || (_main is not null && !_mainDone)) return;
            if (_state is RegionState.Open or RegionState.Closing or RegionState.Draining)
            {
                _state = RegionState.Finalizing;
                finalize = true;
            }
            else if (_state == RegionState.Finalizing && !_finishing)
            {
                if (_pendingFinalizers is not null) next = true;
                else
                {
                    _finishing = true;
                    finish = true;
                }
            }
        }
        if (finalize) BeginFinalize();
        if (next) StartNextFinalizer();
        if (finish) Finish();
    }

    private void BeginFinalize()
    {
        List<Finalizer>? fins;
        lock (this)
        {
            fins = _finalizers;
            _finalizers = null;
            if (fins is null || fins.Count == 0) _finishing = true;
            else _pendingFinalizers = fins;
        }
        Runtime.Observer?.OnRegionState(this, RegionState.Finalizing);
        if (fins is null || fins.Count == 0)
        {
            Finish();
            return;
        }
        StartNextFinalizer();
    }

    /// <summary>
    /// Finalizers may await, so each runs as an internal task of this region, one after the other (LIFO), each
    /// exactly once, masked, with the capabilities of the Cx that registered it; the next starts when the previous
    /// completed (<see cref="TryQuiesce"/>). A throwing finalizer does not stop the others and makes the region
    /// Panicked; a finalizer cut short by the cleanup budget ends Cancelled (the kernel reported the overrun).
    /// </summary>
    private void StartNextFinalizer()
    {
        Finalizer f;
        lock (this)
        {
            var pending = _pendingFinalizers!;
            f = pending[^1];
            pending.RemoveAt(pending.Count - 1);
            if (pending.Count == 0) _pendingFinalizers = null;
        }
        Spawn<Unit>(f.Name, (Func<Cx, Task>)(cx => RunFinalizerAsync(cx, f)), Budget.Unlimited, f.Capabilities, isInternal: true, authority: f.Authority);
    }

    private async Task RunFinalizerAsync(Cx cx, Finalizer f)
    {
        try
        {
            Runtime.Observer?.OnFinalizer(this, f.Index);
            switch (f.Body)
            {
                case Action a:
                    a();
                    break;
                case Func<Cx, Task> fn:
                    await fn(cx);
                    break;
            }
        }
        catch (OperationCanceledException) when (cx.Task.IsCancelRequested)
        {
            throw; // cut short by the cleanup budget: Cancelled, and the overrun is already reported
        }
        catch (Exception ex)
        {
            Runtime.Diagnostics.Report(DiagnosticKind.FinalizerFailed, cx.Task, $"finalizer '{f.Name}' of region '{Name}' threw: {ex.Message}");
            throw;
        }
    }

    private void Finish()
    {
        List<Obligation>? stuck;
        lock (this)
        {
            stuck = _ledger is { Count: > 0 } ? new List<Obligation>(_ledger) : null;
        }
        if (stuck is not null)
        {
            // Every holder has ended, so these can only be obligations whose settlement raced with the
            // holder's end. The region refuses to close with them Reserved: they are leaks.
            var r = new CancelReason(CancelKind.ResourceUnavailable, $"region '{Name}' closed with it reserved", Runtime.Now, Id, 0);
            int n = 0;
            foreach (var o in stuck) if (o.MarkLeaked(r)) n++;
            if (n > 0)
            {
                var msg = $"region '{Name}' closed with {n} reserved obligation(s)";
                Runtime.Diagnostics.ReportLeak(null, msg, this);
                if (Runtime.Options.LeakResponse == LeakResponse.Fail)
                {
                    lock (this) _aggregate = Outcome<Unit>.Join(_aggregate, Outcome<Unit>.Err(new ObligationLeakedException(msg)));
                }
            }
        }
        List<Action>? waiters;
        TimerEntry? timer;
        lock (this)
        {
            _state = RegionState.Closed;
            if (_reason is { } rr && !(rr.Kind == CancelKind.FailFast && rr.OriginRegion == Id))
                _aggregate = Outcome<Unit>.Join(_aggregate, Outcome<Unit>.Cancelled(rr));
            FinalOutcome = _aggregate;
            waiters = _closeWaiters;
            _closeWaiters = null;
            timer = _deadlineTimer;
            _deadlineTimer = null;
            _cleanupTimer?.Cancel();
            _cleanupTimer = null;
        }
        timer?.Cancel();
        Runtime.Diagnostics.OnSpawned(Interlocked.Exchange(ref _spawned, 0));
        Runtime.Observer?.OnRegionState(this, RegionState.Closed);
        Parent?.OnChildClosed(this);
        Owner?.OnOwnedRegionClosed(this);
        if (waiters is not null) foreach (var w in waiters) w();
    }

    private void OnChildClosed(RegionCore child)
    {
        // Closed children are dropped: a long-lived region (a keep-alive connection opening a region per
        // request) must not accumulate them.
        lock (this)
        {
            _openChildren--;
            _children?.Remove(child);
        }
    }

    /// <summary>The region's body could not be spawned: close the empty region so that its owner is not left waiting for it.</summary>
    internal void AbandonOpen()
    {
        lock (this)
        {
            _main = null;
            if (_state == RegionState.Open) _state = RegionState.Closing;
        }
        TryQuiesce();
    }

    /// <summary>Runs <paramref name="onClosed"/> once the region is Closed (immediately if it already is).</summary>
    internal void WhenClosed(Action onClosed)
    {
        lock (this)
        {
            if (_state != RegionState.Closed)
            {
                (_closeWaiters ??= new List<Action>()).Add(onClosed);
                return;
            }
        }
        onClosed();
    }

    /// <summary>The typed outcome of a region whose body is <paramref name="main"/>.</summary>
    internal Outcome<T> OutcomeFor<T>(TaskCore<T> main)
    {
        var agg = FinalOutcome;
        var m = main.Outcome;
        if (m.IsOk) return m.JoinWith(agg);
        return agg.IsOk ? m : Outcome<T>.FromNonOk(agg.Kind, agg.Payload);
    }

    /// <inheritdoc />
    public override string ToString() => $"Region {Id} '{Name}' ({State})";
}
