using Asupersync.Diagnostics;
using Asupersync.Time;

namespace Asupersync.Kernel;

/// <summary>
/// The kernel's record of one region: its live tasks, ledger of Reserved obligations, finalizers and
/// aggregate outcome. A region closes only when every task in it has completed; it then runs its
/// finalizers (LIFO, in an internal masked task), settles its ledger and becomes Closed.
/// </summary>
internal sealed partial class RegionCore
{
    internal readonly RuntimeCore Runtime;
    internal readonly long Id;
    internal readonly string Name;
    internal readonly RegionCore? Parent;
    internal readonly TaskCore? Owner;
    internal readonly RegionOptions Options;
    /// <summary>The region's budget, resolved and met with the parent's (kept in <see cref="TaskBudget"/>: a region without one stores none).</summary>
    internal Budget Budget => TaskBudget?.Budget ?? default;
    internal readonly TaskBudget? TaskBudget; // what a task spawned without its own budget gets (shared)

    private RegionState _state;
    private CancelReason? _reason;
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
    private bool _held; // a combinator running on its owner's task still adds branches (see ReleaseHold)
    private Outcome<Unit> _aggregate = Outcome.Ok(); // once Closed, the final outcome
    private Obligation? _ledgerHead, _ledgerTail; // Reserved obligations, oldest first (intrusive, see Obligation)
    private int _ledgerCount;
    private List<RegionCore>? _children;
    private int _openChildren;
    private object? _closeWaiters; // an Action, an IRegionCloseWaiter, or a List<object> of them
    private TimerEntry? _deadlineTimer;
    private Cold? _cold;

    /// <summary>
    /// Rarely needed state: the cancel's budget and cleanup timer, deferred owner cancels, finalizers. Allocated on
    /// first need (under the lock), so that a region that is neither cancelled nor given finalizers stays small.
    /// Whenever <see cref="_reason"/> is set, it exists.
    /// </summary>
    private sealed class Cold
    {
        internal Budget CancelBudget;
        internal TimeSpan CleanupDeadline = TimeSpan.MaxValue;
        internal TimerEntry? CleanupTimer;
        internal TimeSpan DeferredAt = TimeSpan.MaxValue;
        internal TimerEntry? DeferredTimer;
        internal bool FailFastFired;
        internal List<Finalizer>? Finalizers;
        internal List<Finalizer>? PendingFinalizers; // while Finalizing: the ones not started yet (run from the end: LIFO)
    }

    private Cold C => _cold ??= new Cold(); // callers hold lock(this)

    /// <param name="runtime">The runtime.</param>
    /// <param name="name">The region's name.</param>
    /// <param name="parent">The parent region (null: a root).</param>
    /// <param name="owner">The task that opened it (null: a root).</param>
    /// <param name="options">Policy and limits, and the budget unless <paramref name="budget"/> is given.</param>
    /// <param name="budget">The region's own budget, in place of <c>options.Budget</c> (a combinator with a limit of
    /// its own, without a RegionOptions per call).</param>
    /// <param name="now">The current time, when the caller has just read it (one clock read per open).</param>
    internal RegionCore(RuntimeCore runtime, string name, RegionCore? parent, TaskCore? owner, RegionOptions options, Budget? budget = null, TimeSpan? now = null)
    {
        Runtime = runtime;
        Id = runtime.NextId();
        Name = name;
        Parent = parent;
        Owner = owner;
        Options = options;
        var inherited = owner?.Budget ?? parent?.Budget ?? Budget.Unlimited;
        // A child's budget is parent ⊓ child. Quotas are per task, so only the deadline and priority are inherited.
        var ownBudget = budget ?? options.Budget;
        var own = ownBudget.IsDefault ? default : ownBudget.Resolve(now ?? runtime.Now);
        var resolved = own.Meet(new Budget { Deadline = inherited.Deadline, Priority = inherited.Priority });
        // A relative budget times out (CancelKind.Timeout) only when it is the binding one: when an inherited deadline
        // is earlier, that deadline is what fires, and a timeout combinator must not report its own limit as reached.
        var deadlineKind = ownBudget.RelativeTimeout is not null && !(inherited.Deadline is { } id && own.Deadline is { } od && id < od)
            ? CancelKind.Timeout : CancelKind.Deadline;
        TaskBudget = resolved.IsDefault ? null : new TaskBudget(resolved, deadlineKind);
        LeakResponse = options.LeakResponse ?? parent?.LeakResponse ?? runtime.Options.LeakResponse;
    }

    /// <summary>The leak response of this region: its own option, else its parent's, else the runtime's.</summary>
    internal readonly LeakResponse LeakResponse;

    internal RegionState State { get { lock (this) return _state; } }

    internal bool IsClosed { get { lock (this) return _state == RegionState.Closed; } }

    internal CancelReason? Reason { get { lock (this) return _reason; } }

    /// <summary>The region's outcome once it is Closed (Ok before).</summary>
    internal Outcome<Unit> FinalOutcome
    {
        get { lock (this) return _state == RegionState.Closed ? _aggregate : default; }
    }

    internal int LiveTasks => Volatile.Read(ref _live);

    /// <summary>Reserved obligations in the ledger (for the metrics gauge).</summary>
    internal int OpenObligations { get { lock (this) return _ledgerCount; } }

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
                var kind = r.TaskBudget!.DeadlineKind;
                r.RequestCancel(new CancelReason(kind, kind == CancelKind.Timeout ? "region timed out" : "region deadline passed", r.Budget.Deadline!.Value, r.Id, 0), Budget.Unlimited);
            }, this);
        }
        Runtime.Observer?.OnRegionOpened(this);
        KernelMetrics.RegionOpened();
    }

    // ---------------------------------------------------------------- admission

    /// <summary>A registered finalizer: its body (an Action or a Func&lt;Cx, Task&gt;), the registering Cx's capabilities and token authority, its index and name.</summary>
    private sealed record Finalizer(object Body, Capabilities Capabilities, TaskAuthority? Authority, int Index, string Name);

    /// <summary>
    /// Admits and starts a task. A <paramref name="listener"/> is told of the task before it starts and of its
    /// completion (a combinator's branch); with <paramref name="inline"/> the first step may run at once on the
    /// calling thread, where the driver allows it (see <see cref="TaskCore.Start"/>).
    /// </summary>
    internal TaskCore<T> Spawn<T>(string name, object body, Budget budget, Capabilities caps, bool isMain = false, bool isInternal = false, TaskAuthority? authority = null,
        ITaskListener<T>? listener = null, bool inline = false)
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
            task = new TaskCore<T>(this, name, Kernel.TaskBudget.For(this, budget, budget.IsDefault ? default : Runtime.Now), caps, body, isInternal);
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
                var c = _cold!;
                preBudget = new Budget { Deadline = c.CleanupDeadline == TimeSpan.MaxValue ? null : c.CleanupDeadline, PollQuota = c.CancelBudget.PollQuota };
            }
        }
        Runtime.Observer?.OnTaskSpawned(task);
        KernelMetrics.TaskSpawned();
        Runtime.Potential.TaskSpawned(task.Deadline);
        if (preCancel is not null)
        {
            var now = Runtime.Now;
            // Started with its budget already spent: it still runs (sync cleanup), its first wait raises, and it is
            // reported as overrunning only if it then keeps running past a short grace.
            if (preBudget.Deadline is { } d && d <= now) task.SetReportNotBefore(now + TaskCore.OverrunReportGrace);
            task.RequestCancel(preCancel, preBudget);
        }
        if (listener is not null)
        {
            task.PresetListener(listener);
            listener.OnSpawned(task);
        }
        task.Start(inline);
        return task;
    }

    /// <summary>
    /// Opens a child region owned by <paramref name="owner"/>. A <paramref name="held"/> region has no body task:
    /// the owner itself plays the body (a combinator running on its caller's task), and the region does not close
    /// before <see cref="ReleaseHold"/>, however many of its tasks already completed.
    /// </summary>
    internal RegionCore OpenChild(string name, TaskCore owner, RegionOptions options, bool held = false, Budget? budget = null, TimeSpan? now = null)
    {
        // Lab: a read of this region's state is an access even when nothing changes (dependency tracking).
        Runtime.Observer?.OnAccess(Id, "region");
        // An owner whose cancel is already requested (it is draining, or inside a mask) may still open a region:
        // cleanup code keeps working. Such a region is part of the owner's cleanup, so instead of being cancelled
        // at birth (its body would never run) it gets the owner's cleanup deadline as its own deadline.
        var ownerCleanup = owner.CleanupDeadlineIfCancelled;
        if (ownerCleanup is { } cd && cd != TimeSpan.MaxValue)
            budget = (budget ?? options.Budget).Meet(Budget.AtDeadline(options.DeferOwnerCancel is { } reserve ? cd - reserve : cd));
        RegionCore child;
        lock (this)
        {
            if (_state is RegionState.Finalizing or RegionState.Closed || (_state == RegionState.Draining && ownerCleanup is null))
                throw new RegionClosedException(Name, _state, "new child regions");
            if (Options.MaxChildRegions is { } max && _openChildren >= max)
                throw new RegionLimitExceededException(Name, nameof(RegionOptions.MaxChildRegions), max);
            child = new RegionCore(Runtime, name, this, owner, options, budget, now) { _held = held };
            (_children ??= new List<RegionCore>()).Add(child);
            _openChildren++;
        }
        owner.AddOwnedRegion(child);
        child.Start();
        return child;
    }

    internal Obligation Reserve(TaskCore holder, ObligationKind kind, string description, object? onResolve)
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
            if (Options.MaxObligations is { } max && _ledgerCount >= max)
                throw new RegionLimitExceededException(Name, nameof(RegionOptions.MaxObligations), max);
            o = new Obligation(Runtime.NextId(), holder, this, kind, description, onResolve);
            o.LedgerPrev = _ledgerTail;
            if (_ledgerTail is null) _ledgerHead = o;
            else _ledgerTail.LedgerNext = o;
            _ledgerTail = o;
            o.InLedger = true;
            _ledgerCount++;
            Runtime.Potential.ObligationReserved(o.ReservedAt);
        }
        holder.AddHeld(o);
        Runtime.Observer?.OnObligation(o, ObligationState.Reserved);
        KernelMetrics.ObligationReserved();
        return o;
    }

    internal void OnObligationResolved(Obligation o, ObligationState to)
    {
        lock (this)
        {
            if (o.InLedger)
            {
                if (o.LedgerPrev is null) _ledgerHead = o.LedgerNext;
                else o.LedgerPrev.LedgerNext = o.LedgerNext;
                if (o.LedgerNext is null) _ledgerTail = o.LedgerPrev;
                else o.LedgerNext.LedgerPrev = o.LedgerPrev;
                o.LedgerPrev = o.LedgerNext = null;
                o.InLedger = false;
                _ledgerCount--;
                Runtime.Potential.ObligationResolved(o.ReservedAt);
            }
        }
        if (to == ObligationState.Leaked) Runtime.Diagnostics.OnLeakCounted();
        Runtime.Observer?.OnObligation(o, to);
        KernelMetrics.ObligationResolved(to);
    }

    internal void AddFinalizer(object finalizer, Capabilities caps, TaskAuthority? authority, string? name)
    {
        lock (this)
        {
            if (_state is RegionState.Finalizing or RegionState.Closed)
                throw new RegionClosedException(Name, _state, "new finalizers");
            var list = C.Finalizers ??= new List<Finalizer>();
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
        TimeSpan cleanupDeadline, regionCleanupDeadline;
        lock (this)
        {
            if (_state == RegionState.Closed) return;
            var c = C;
            _reason = CancelReason.Strengthen(_reason, reason);
            c.CancelBudget = c.CancelBudget.Meet(cleanupBudget);
            if (_state is RegionState.Open or RegionState.Closing)
            {
                _state = RegionState.Draining;
                Runtime.Potential.RegionDraining(+1);
            }
            // While Finalizing, the only live task is the running finalizer: it is masked (it keeps running) but
            // now bounded by this cancel's cleanup budget.
            finalizing = _state == RegionState.Finalizing;
            tasks = SnapshotLocked();
            r = _reason!;
            // One cleanup deadline for the whole region, watched by one region timer instead of one per task.
            b = c.CancelBudget.Meet(Budget.FromTimeout(Runtime.Options.CleanupAllowanceFor(r.Kind))).Resolve(now);
            cleanupDeadline = b.Deadline!.Value;
            if (cleanupDeadline < c.CleanupDeadline)
            {
                c.CleanupDeadline = cleanupDeadline;
                armTimer = true;
            }
            regionCleanupDeadline = c.CleanupDeadline;
        }
        if (armTimer)
        {
            var timer = Runtime.AddTimer(cleanupDeadline, static s => ((RegionCore)s!).OnCleanupDeadline(), this);
            TimerEntry? old;
            lock (this)
            {
                old = _cold!.CleanupTimer;
                _cold.CleanupTimer = timer;
            }
            old?.Cancel();
        }
        if (!finalizing) Runtime.Observer?.OnRegionState(this, RegionState.Draining);
        // Oldest first: the list is newest-first.
        for (int i = tasks.Length - 1; i >= 0; i--) tasks[i].RequestCancel(r, b, regionCleanupDeadline);
    }

    /// <summary>
    /// The owner's cancel reaching this region (ParentCancelled). With <see cref="RegionOptions.DeferOwnerCancel"/>
    /// it is held back until the owner's cleanup deadline is that reserve away; a later, tighter cancel of the
    /// owner brings the point forward, never back.
    /// </summary>
    internal void RequestCancelFromOwner(CancelReason reason, Budget cleanupBudget, TimeSpan ownerCleanupDeadline)
    {
        if (Options.DeferOwnerCancel is not { } reserve)
        {
            RequestCancel(reason, cleanupBudget);
            return;
        }
        var at = ownerCleanupDeadline == TimeSpan.MaxValue ? TimeSpan.MaxValue : ownerCleanupDeadline - reserve;
        var budget = ownerCleanupDeadline == TimeSpan.MaxValue ? cleanupBudget : cleanupBudget.Meet(Budget.AtDeadline(ownerCleanupDeadline));
        if (at <= Runtime.Now)
        {
            RequestCancel(reason, budget);
            return;
        }
        TimerEntry? old;
        lock (this)
        {
            var c = C;
            if (_state == RegionState.Closed || at >= c.DeferredAt) return;
            c.DeferredAt = at;
            old = c.DeferredTimer;
            c.DeferredTimer = null;
        }
        old?.Cancel();
        var timer = Runtime.AddTimer(at, s =>
        {
            var r = (RegionCore)s!;
            r.RequestCancel(reason, budget);
        }, this);
        bool closed;
        lock (this)
        {
            closed = _state == RegionState.Closed || _cold!.DeferredAt != at;
            if (!closed) _cold!.DeferredTimer = timer;
        }
        if (closed) timer.Cancel();
    }

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
                    && _cold is not { FailFastFired: true } && _state is not (RegionState.Finalizing or RegionState.Closed) && !task.IsInternal)
                {
                    C.FailFastFired = true;
                    failFast = true;
                }
            }
        }
        if (failFast)
        {
            RequestCancel(new CancelReason(CancelKind.FailFast, $"task '{task.Name}' ended {outcome.Kind}", Runtime.Now, Id, task.Id), Budget.Unlimited);
        }
        int left = Interlocked.Decrement(ref _live);
        if (left == 0 || (left == 1 && Runtime.Options.Fault == KernelFault.CloseWithLiveTask)) TryQuiesce();
    }

    /// <summary>No task is live: start finalizing (or, after the finalizers, finish). Decided once, under the lock.</summary>
    private void TryQuiesce()
    {
        bool finalize = false, finish = false, next = false;
        List<Finalizer>? fins = null;
        lock (this)
        {
            int quiet = Runtime.Options.Fault == KernelFault.CloseWithLiveTask ? 1 : 0; // test-only fault: off by one
            if (Volatile.Read(ref _live) > quiet || (_main is not null && !_mainDone) || _held) return;
            if (_state is RegionState.Open or RegionState.Closing or RegionState.Draining)
            {
                if (_state == RegionState.Draining) Runtime.Potential.RegionDraining(-1);
                _state = RegionState.Finalizing;
                finalize = true;
                fins = TakeFinalizersLocked();
            }
            else if (_state == RegionState.Finalizing && !_finishing)
            {
                if (_cold?.PendingFinalizers is not null) next = true;
                else
                {
                    _finishing = true;
                    finish = true;
                }
            }
        }
        if (finalize) BeginFinalize(fins);
        if (next) StartNextFinalizer();
        if (finish) Finish();
    }

    /// <summary>With the lock held, on entering Finalizing: takes the finalizers to run (null or empty: none, and the region finishes at once).</summary>
    private List<Finalizer>? TakeFinalizersLocked()
    {
        var fins = _cold?.Finalizers;
        if (fins is not null) _cold!.Finalizers = null;
        if (fins is { Count: > 1 } && Runtime.Options.Fault == KernelFault.SkipFinalizer) fins.RemoveAt(0); // test-only fault
        if (fins is null || fins.Count == 0) _finishing = true;
        else _cold!.PendingFinalizers = fins;
        return fins;
    }

    private void BeginFinalize(List<Finalizer>? fins)
    {
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
            var pending = _cold!.PendingFinalizers!;
            f = pending[^1];
            pending.RemoveAt(pending.Count - 1);
            if (pending.Count == 0) _cold.PendingFinalizers = null;
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
        object? waiters = null;
        TimerEntry? timer = null;
        lock (this)
        {
            if (_ledgerCount > 0)
            {
                stuck = new List<Obligation>(_ledgerCount);
                for (var o = _ledgerHead; o is not null; o = o.LedgerNext) stuck.Add(o);
            }
            else
            {
                stuck = null;
                CloseLocked(out waiters, out timer); // the common case: one lock
            }
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
                if (LeakResponses.Apply(this, null, msg) is { } failure)
                {
                    lock (this) _aggregate = Outcome<Unit>.Join(_aggregate, failure);
                }
            }
            lock (this) CloseLocked(out waiters, out timer);
        }
        timer?.Cancel();
        Runtime.Diagnostics.OnSpawned(Interlocked.Exchange(ref _spawned, 0));
        Runtime.Observer?.OnRegionState(this, RegionState.Closed);
        Parent?.OnChildClosed(this);
        Owner?.OnOwnedRegionClosed(this);
        if (waiters is List<object> many) foreach (var w in many) FireCloseWaiter(w);
        else if (waiters is not null) FireCloseWaiter(waiters);
    }

    /// <summary>The transition to Closed (caller holds the lock); hands back the close waiters and the deadline timer to cancel.</summary>
    private void CloseLocked(out object? waiters, out TimerEntry? timer)
    {
        {
            _state = RegionState.Closed;
            if (_reason is { } rr && !(rr.Kind == CancelKind.FailFast && rr.OriginRegion == Id))
                _aggregate = Outcome<Unit>.Join(_aggregate, Outcome<Unit>.Cancelled(rr));
            waiters = _closeWaiters;
            _closeWaiters = null;
            timer = _deadlineTimer;
            _deadlineTimer = null;
            if (_cold is { } c)
            {
                c.CleanupTimer?.Cancel();
                c.CleanupTimer = null;
                c.DeferredTimer?.Cancel();
                c.DeferredTimer = null;
            }
        }
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

    /// <summary>
    /// The owner of a held region (see <see cref="OpenChild"/>) added its last task: the region now closes as a
    /// region whose body returned — at once when every task already completed.
    /// </summary>
    internal void ReleaseHold()
    {
        lock (this)
        {
            _held = false;
            if (_state == RegionState.Open) _state = RegionState.Closing;
        }
        if (Volatile.Read(ref _live) == 0) TryQuiesce();
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
    internal void WhenClosed(Action onClosed) => AddCloseWaiter(onClosed);

    /// <summary>Tells <paramref name="waiter"/> once the region is Closed (immediately if it already is); allocates nothing for the first waiter.</summary>
    internal void WhenClosed(IRegionCloseWaiter waiter) => AddCloseWaiter(waiter);

    private void AddCloseWaiter(object waiter)
    {
        lock (this)
        {
            if (_state != RegionState.Closed)
            {
                switch (_closeWaiters)
                {
                    case null:
                        _closeWaiters = waiter;
                        break;
                    case List<object> many:
                        many.Add(waiter);
                        break;
                    default:
                        _closeWaiters = new List<object> { _closeWaiters, waiter };
                        break;
                }
                return;
            }
        }
        FireCloseWaiter(waiter);
    }

    private void FireCloseWaiter(object waiter)
    {
        if (waiter is IRegionCloseWaiter w) w.OnRegionClosed(this);
        else ((Action)waiter)();
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

/// <summary>Told once, outside every lock, when a region closed (see <see cref="RegionCore.WhenClosed(IRegionCloseWaiter)"/>).</summary>
internal interface IRegionCloseWaiter
{
    void OnRegionClosed(RegionCore region);
}
