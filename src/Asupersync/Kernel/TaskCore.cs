using System.Diagnostics;
using System.Runtime.CompilerServices;
using Asupersync.Time;

namespace Asupersync.Kernel;

/// <summary>
/// The kernel's record of one task: its cancel-protocol state, its work queue and its budget.
/// </summary>
/// <remarks>
/// <para>It is also the task's <see cref="SynchronizationContext"/>: while a step runs, the context is
/// installed on the worker thread, so awaiting a plain <see cref="System.Threading.Tasks.Task"/> inside a
/// body posts its continuation back here and the task resumes through the driver, never inline on the
/// thread that completed the awaited thing. Runtime awaitables (<see cref="WaitOp{T}"/>) enqueue their
/// continuation here directly.</para>
/// <para>All mutable state is guarded by <c>lock(this)</c>; no user code runs under that lock.</para>
/// </remarks>
internal abstract class TaskCore : SynchronizationContext
{
    internal const int MaxMaskDepth = 32;

    [ThreadStatic] private static TaskCore? t_current;

    private static readonly Action<object?> s_start = static s => ((TaskCore)s!).StartBody();

    internal readonly RuntimeCore Runtime;
    internal readonly RegionCore Region;
    internal readonly long Id;
    internal readonly string Name;
    internal readonly bool IsInternal;        // the region's finalizer task

    /// <summary>
    /// Set before the task starts by a spawner that hands the task a resource only its body can release (an
    /// accepted connection): a cancel that arrives before the first step does not skip the body; the body runs
    /// with that cancel pending (its first checkpoint raises it), so it can answer or close what it was given.
    /// </summary>
    internal bool RunsBodyIfCancelledBeforeStart;
    private readonly Capabilities _caps;
    private Cx? _cx;

    /// <summary>The task's primary Cx, created on first use (a queued task that never starts never needs one).</summary>
    internal Cx Cx => _cx ??= new Cx(this, _caps, Authority);

    /// <summary>The token authority the task's Cx carries (null: capability bits only). Set by the region before the task starts.</summary>
    internal TaskAuthority? Authority;

    // The region's task list (guarded by the region's lock; see RegionCore).
    internal TaskCore? RegionNext;
    private volatile bool _done;

    /// <summary>Set by a yield just before it schedules the task: the driver must queue it behind the others.</summary>
    internal bool Yielding;

    /// <summary>True once the task completed (a lock-free read for the region's lazy list).</summary>
    internal bool IsDone => _done;

    // Hot state: what every task touches. Everything else lives in _cold, allocated on first need, so that a
    // trivial task costs one small object.
    private readonly TaskBudget? _budget;     // null: unlimited, priority 0 (shared with the region when equal)
    private TaskState _state;
    private CancelReason? _reason;
    private int _maskDepth;
    private IInterruptible? _wait;
    private long _polls;
    private bool _scheduled;
    private object? _w0;
    private object? _s0;
    private Cold? _cold;

    /// <summary>Rarely needed state: cancel bookkeeping, extra work items, owned regions, obligations, timers.</summary>
    private sealed class Cold
    {
        internal TimeSpan CleanupDeadline = TimeSpan.MaxValue;
        internal long? CleanupPollLimit;
        internal bool CleanupExhausted;
        internal bool SecondRaiseDone;
        internal bool OverrunReported;
        internal bool Acknowledged;
        internal bool AwaitingOwned;
        internal TimeSpan ReportNotBefore;    // no "did not reach a checkpoint" report before this time (grace)
        internal long Cost;
        internal Queue<(object, object?)>? More;
        internal List<RegionCore>? OwnedRegions;
        internal int OpenOwned;
        internal Obligation? HeldHead, HeldTail; // intrusive, oldest first (see Obligation)
        internal int HeldCount;
        internal CancellationTokenSource? Cts;
        internal TimerEntry? DeadlineTimer;
        internal TimerEntry? CleanupTimer;
        internal List<Exception>? StepPanics;
    }

    private Cold C => _cold ??= new Cold(); // callers hold lock(this)

    protected TaskCore(RegionCore region, string name, TaskBudget? budget, Capabilities caps, bool isInternal)
    {
        _caps = caps;
        Runtime = region.Runtime;
        Region = region;
        Name = name;
        Id = Runtime.NextId();
        IsInternal = isInternal;
        _budget = budget;
        if (isInternal) _maskDepth = 1;
        _w0 = s_start;
        _s0 = this;
        _scheduled = true;
    }

    /// <summary>The resolved budget (absolute deadline; no relative timeout).</summary>
    internal Budget Budget => _budget?.Budget ?? default;

    internal TimeSpan? Deadline => _budget?.Budget.Deadline;

    private CancelKind DeadlineKind => _budget?.DeadlineKind ?? CancelKind.Deadline;

    /// <summary>The task whose step is running on this thread, if any.</summary>
    internal static new TaskCore? Current => t_current;

    internal TaskState State { get { lock (this) return _state; } }

    internal CancelReason? Reason { get { lock (this) return _reason; } }

    internal bool IsCancelRequested { get { lock (this) return _reason is not null; } }

    internal long Polls => Volatile.Read(ref _polls);

    internal int MaskDepth { get { lock (this) return _maskDepth; } }

    /// <summary>Which lane the driver should put this task in right now.</summary>
    internal Lane Lane
    {
        get
        {
            var s = _state; // a racy read is fine: the lane is a scheduling hint
            if (s is TaskState.CancelRequested or TaskState.Cancelling or TaskState.Finalizing) return Lane.Cancel;
            return _budget?.Budget.Deadline is not null ? Lane.Timed : Lane.Ready;
        }
    }

    /// <summary>Severity tier of the pending cancel (for cancel-lane ordering).</summary>
    internal int CancelTier => _reason?.Tier ?? 0;

    internal byte Priority => _budget?.Budget.Priority ?? 0;

    /// <summary>When the oldest obligation this task holds was reserved, or null (a racy read: a scheduling hint for the governor).</summary>
    internal TimeSpan? OldestHeldReservedAt => _cold?.HeldHead?.ReservedAt;

    // ---------------------------------------------------------------- start and steps

    [ThreadStatic] private static int t_inlineDepth;

    /// <summary>
    /// Arms the deadline timer and schedules the first step. Called once by the region after admission. With
    /// <paramref name="inline"/>, and where the driver allows it (<see cref="Driver.StartsInline"/>: production, not
    /// the Lab, whose scheduler must choose every step), the first step runs at once on this thread, nested in the
    /// spawner's step (as Kotlin's <c>UNDISPATCHED</c>): a branch whose body completes synchronously never touches a
    /// queue. Nesting is bounded so that recursive combinators cannot exhaust the stack.
    /// </summary>
    internal void Start(bool inline = false)
    {
        // The first step is preset (no other thread can have queued work for a task nobody has run yet), so
        // starting costs no lock here; a concurrent Enqueue sees _scheduled and leaves scheduling to us.
        if (Deadline is { } d && (Region.Budget.Deadline is not { } rd || d < rd))
        {
            // The region's own timer covers deadlines it shares; only an earlier one needs a task timer.
            var t = Runtime.AddTimer(d, static s => ((TaskCore)s!).OnDeadline(), this);
            lock (this) C.DeadlineTimer = t;
        }
        if (inline && t_inlineDepth < MaxInlineDepth && Runtime.Driver.StartsInline)
        {
            t_inlineDepth++;
            try
            {
                RunStep();
            }
            finally
            {
                t_inlineDepth--;
            }
            return;
        }
        Runtime.Driver.Schedule(this);
    }

    private const int MaxInlineDepth = 8;

    protected abstract void StartBody();

    /// <summary>Completes a task whose body already finished (the step after the completion choice point; Lab only).</summary>
    protected abstract void FinishFinishedBody();

    /// <summary>The queued item of the completion step a choice point deferred (see <see cref="ChoicePoint"/>).</summary>
    private protected static readonly Action<object?> FinishStep = static s => ((TaskCore)s!).FinishFinishedBody();

    /// <summary>True when this task's next step only completes it (kernel code, no user code): for the Lab's dependencies.</summary>
    internal bool NextStepOnlyCompletes => ReferenceEquals(_w0, FinishStep);

    /// <summary>Queues a continuation (or the first step) and schedules the task if it is not already queued.</summary>
    internal void Enqueue(object callback, object? state)
    {
        bool schedule = false;
        lock (this)
        {
            if (_w0 is null && _cold?.More is not { Count: > 0 })
            {
                _w0 = callback;
                _s0 = state;
            }
            else
            {
                (C.More ??= new Queue<(object, object?)>()).Enqueue((callback, state));
            }
            if (!_scheduled)
            {
                _scheduled = true;
                schedule = true;
            }
        }
        if (schedule) Runtime.Driver.Schedule(this);
    }

    /// <summary>Runs one queued item with this task's context installed. Called by the driver only (and by an inline <see cref="Start"/>).</summary>
    internal void RunStep()
    {
        object? cb;
        object? st;
        bool pollOverrun;
        lock (this)
        {
            if (_w0 is not null)
            {
                cb = _w0;
                st = _s0;
                _w0 = null;
                _s0 = null;
            }
            else if (_cold?.More is { Count: > 0 } more)
            {
                (cb, st) = more.Dequeue();
            }
            else
            {
                _scheduled = false;
                return;
            }
            _polls++;
            // A cleanup poll quota is enforced on every resumption, not only at checkpoints: a task that keeps
            // resuming (plain Task awaits, Task.Yield) without reaching a checkpoint is reported once it passes.
            pollOverrun = _cold is { CleanupPollLimit: { } lim, OverrunReported: false } && _polls > lim;
        }
        if (pollOverrun) OnCleanupBudgetSpent(byPolls: true);

        var prevCtx = SynchronizationContext.Current;
        var prevTask = t_current;
        SynchronizationContext.SetSynchronizationContext(this);
        t_current = this;
        Runtime.Observer?.OnStep(this, begin: true);
        try
        {
            if (cb is Action<object?> a) a(st);
            else ((SendOrPostCallback)cb).Invoke(st);
        }
        catch (Exception ex)
        {
            // Only code posted outside an async method's own try (e.g. an async void lambda) gets here.
            // Keep it: the task's outcome becomes Panicked.
            lock (this) (C.StepPanics ??= new List<Exception>()).Add(ex);
            Runtime.Diagnostics.Report(DiagnosticKind.UnhandledStepException, this, ex.ToString());
        }
        finally
        {
            t_current = prevTask;
            SynchronizationContext.SetSynchronizationContext(prevCtx);
        }
        Runtime.Observer?.OnStep(this, begin: false);

        bool again;
        lock (this)
        {
            again = _w0 is not null || _cold?.More is { Count: > 0 };
            if (!again) _scheduled = false;
        }
        if (_budget?.Budget.PollQuota is { } q && Volatile.Read(ref _polls) >= q && _reason is null && _state != TaskState.Completed)
        {
            RequestCancel(new CancelReason(CancelKind.PollQuota, $"poll quota of {q} used up", Runtime.Now, Region.Id, Id), Asupersync.Budget.Unlimited);
        }
        if (again) Runtime.Driver.Schedule(this);
    }

    /// <inheritdoc />
    public override void Post(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        Enqueue(d, state);
    }

    /// <inheritdoc />
    public override void Send(SendOrPostCallback d, object? state)
    {
        if (ReferenceEquals(t_current, this)) d(state);
        else throw new NotSupportedException("Synchronous Send into an Asupersync task is not supported; use Post.");
    }

    /// <inheritdoc />
    public override SynchronizationContext CreateCopy() => this;

    // ---------------------------------------------------------------- cancel protocol

    /// <summary>
    /// Request: strengthen the reason, tighten the cleanup budget, interrupt a cancel-safe wait, fire the token
    /// bridge and propagate ParentCancelled to the regions this task owns. A second request can only tighten.
    /// </summary>
    /// <param name="reason">Why.</param>
    /// <param name="cleanupBudget">The cleanup budget, met with the reason's allowance.</param>
    /// <param name="coveredUntil">A cleanup deadline that a caller's own timer already watches (a region cancelling
    /// all its tasks arms one timer, not one per task); no task timer is armed for a deadline at or after it.</param>
    internal void RequestCancel(CancelReason reason, Budget cleanupBudget, TimeSpan? coveredUntil = null)
    {
        // Lab: a read of this task's state is an access even when nothing changes (dependency tracking).
        Runtime.Observer?.OnAccess(Id, "task");
        var now = Runtime.Now;
        reason = reason.WithOrigin(now, Region.Id, Id);
        IInterruptible? interrupt = null;
        CancellationTokenSource? cts = null;
        RegionCore[]? regions = null;
        bool first = false, changed, armCleanup = false;
        TimeSpan cleanupDeadline;
        long? pollLimit;
        lock (this)
        {
            if (_state == TaskState.Completed) return;
            var old = _reason;
            _reason = Runtime.Options.Fault == KernelFault.WeakenReason ? reason : CancelReason.Strengthen(_reason, reason)!; // test-only fault
            changed = !ReferenceEquals(old, _reason);
            var allowance = Runtime.Options.CleanupAllowanceFor(_reason.Kind);
            var b = cleanupBudget.Meet(Asupersync.Budget.FromTimeout(allowance)).Resolve(now);
            var c = C;
            if (b.Deadline!.Value < c.CleanupDeadline)
            {
                c.CleanupDeadline = b.Deadline.Value;
                armCleanup = coveredUntil is not { } cov || b.Deadline.Value < cov;
            }
            if (b.PollQuota is { } pq)
            {
                long lim = _polls + pq;
                if (c.CleanupPollLimit is null || lim < c.CleanupPollLimit) c.CleanupPollLimit = lim;
            }
            if (_state is TaskState.Created or TaskState.Running)
            {
                _state = TaskState.CancelRequested;
                first = true;
            }
            if (first && _maskDepth == 0 && _wait is not null)
            {
                interrupt = _wait;
                _wait = null;
            }
            // A finalizer works under a pending cancel until its budget is spent: its token fires then, not now.
            if (first && !IsInternal) cts = c.Cts;
            if ((first || changed) && c.OpenOwned > 0) regions = c.OwnedRegions!.Where(r => !r.IsClosed).ToArray();
            cleanupDeadline = c.CleanupDeadline;
            pollLimit = c.CleanupPollLimit;
        }

        if (first || changed) Runtime.Observer?.OnCancelRequested(this, _reason!);
        Runtime.Observer?.OnCleanupBudget(this, cleanupDeadline, pollLimit);
        if (first) global::Asupersync.Diagnostics.KernelMetrics.CancelRequested(_reason!.Kind);
        if (armCleanup) ArmCleanupTimer(cleanupDeadline);
        interrupt?.Interrupt();
        if (cts is not null)
        {
            try { cts.Cancel(); }
            catch (Exception ex) { Runtime.Diagnostics.Report(DiagnosticKind.TokenCallbackFailed, this, ex.ToString()); }
        }
        if (regions is not null)
        {
            foreach (var r in regions) r.RequestCancelFromOwner(_reason!.ForChild(r.Id, now), cleanupBudget, cleanupDeadline);
        }
    }

    /// <summary>
    /// Acknowledge: the checkpoint logic. Returns the exception to raise, or null. The cancel is raised once;
    /// later checkpoints pass during the drain until the cleanup budget is spent, which raises once more.
    /// </summary>
    internal CancelledException? PollCancel()
    {
        if (_reason is null)
        {
            if (Deadline is { } d && Runtime.Now >= d) OnDeadline();
            else return null;
        }
        CancelledException? raise = null;
        string? overrun = null;
        bool emit = true;
        lock (this)
        {
            switch (_state)
            {
                case TaskState.CancelRequested:
                    if (_maskDepth > 0)
                    {
                        if (!CleanupExhaustedLocked()) return null;
                        // The mask outlasted the cleanup budget (a finalizer still running when it ran out, or user
                        // code masked for too long): cancelled here, and reported.
                        if (!C.OverrunReported && (IsInternal || Runtime.Now >= C.ReportNotBefore))
                        {
                            C.OverrunReported = true;
                            overrun = "its cleanup budget ran out while it was masked; it was cancelled at its next checkpoint";
                        }
                    }
                    _state = TaskState.Cancelling;
                    C.Acknowledged = true;
                    raise = new CancelledException(_reason!);
                    break;
                case TaskState.Cancelling:
                case TaskState.Finalizing:
                    if (!CleanupExhaustedLocked() && !(Runtime.Options.Fault == KernelFault.RaiseTwice && !IsInternal)) break;
                    if (!C.SecondRaiseDone)
                    {
                        C.SecondRaiseDone = true;
                        if (!C.OverrunReported && Runtime.Now >= C.ReportNotBefore)
                        {
                            C.OverrunReported = true;
                            overrun = "its cleanup budget ran out while draining";
                        }
                        raise = new CancelledException(new CancelReason(CancelKind.Deadline, "cleanup budget exhausted", Runtime.Now, Region.Id, Id, _reason));
                    }
                    else if (IsInternal)
                    {
                        // A finalizer is never left in an unbounded wait: once its budget is spent, every checkpoint
                        // raises (the protocol's acknowledgements were already recorded, so this is not another one).
                        emit = false;
                        raise = new CancelledException(new CancelReason(CancelKind.Deadline, "cleanup budget exhausted", Runtime.Now, Region.Id, Id, _reason));
                    }
                    break;
            }
        }
        if (overrun is not null) ReportOverrun(overrun);
        if (emit && raise is not null && _state == TaskState.Cancelling && _cold?.Acknowledged == true) Runtime.Observer?.OnCancelAcknowledged(this, raise.Reason);
        return raise;
    }

    /// <summary>
    /// Acknowledges a pending cancel without raising: <c>CancelRequested → Cancelling</c>. Returns the reason
    /// (also when it was acknowledged before), or null when no cancel was requested.
    /// </summary>
    internal CancelReason? AcknowledgeWithoutRaise()
    {
        CancelReason? reason;
        bool acked = false;
        lock (this)
        {
            reason = _reason;
            if (_state == TaskState.CancelRequested)
            {
                _state = TaskState.Cancelling;
                C.Acknowledged = true;
                acked = true;
            }
        }
        if (acked) Runtime.Observer?.OnCancelAcknowledged(this, reason!);
        return reason;
    }

    /// <summary>Checkpoint at the start of every runtime await and in <see cref="Cx.Checkpoint"/>. Only the task itself may take it.</summary>
    internal void Checkpoint()
    {
        EnsureOwnStep();
        var ex = PollCancel();
        if (ex is not null) throw ex;
    }

    /// <summary>
    /// Throws unless the calling code runs as a step of this task and the task has not completed: a Cx is usable
    /// only by its own task while it lives. Code outside any task step (a continuation after
    /// <c>ConfigureAwait(false)</c>, <c>Task.Run</c>, a timer or socket callback) is not the task either.
    /// Two reads (a thread-static and a volatile field) on the hot path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void EnsureOwnStep()
    {
        if (!ReferenceEquals(t_current, this) || _done) ThrowNotOwnStep();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotOwnStep()
    {
        var cur = t_current;
        var owner = $"task '{Name}' (id {Id}) in region '{Region.Name}'";
        var caller = cur is null
            ? "code running outside any task step (a continuation after ConfigureAwait(false), Task.Run, or a timer or I/O callback)"
            : ReferenceEquals(cur, this) ? $"a late continuation of {owner} itself" : $"task '{cur.Name}' (id {cur.Id}) in region '{cur.Region.Name}'";
        var msg = _done
            ? $"The Cx of {owner} was used by {caller} after {owner} completed. A Cx is usable only by its own task while it lives."
            : $"The Cx of {owner} was used by {caller}. A Cx is usable only by its own task: use the Cx your task body received, and hand work to other tasks through channels or handles.";
        Runtime.Observer?.OnAccess(Id, "oracle:CxMisuse:" + msg);
        throw new InvalidOperationException(msg);
    }

    private bool CleanupExhaustedLocked() =>
        _cold is { } c && (c.CleanupExhausted || (c.CleanupPollLimit is { } l && _polls > l) || (c.CleanupDeadline != TimeSpan.MaxValue && Runtime.Now >= c.CleanupDeadline));

    private void OnDeadline()
    {
        if (Deadline is not { } d) return;
        RequestCancel(new CancelReason(DeadlineKind, DeadlineKind == CancelKind.Timeout ? "timed out" : "deadline passed", d, Region.Id, Id), Asupersync.Budget.Unlimited);
    }

    /// <summary>The cleanup deadline may have passed: if it did, the budget is exhausted (called by the task's or its region's timer).</summary>
    internal void OnCleanupDeadline() => OnCleanupBudgetSpent(byPolls: false);

    /// <summary>
    /// How long after it resumes from a region wait (or, for a finalizer, after it starts with its budget already
    /// spent) a task may still run before it is reported as "did not reach a checkpoint": the time it spent parked
    /// was the region's, not its own. Its checkpoints still raise at once.
    /// </summary>
    internal static readonly TimeSpan OverrunReportGrace = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The cleanup budget (its deadline, or with <paramref name="byPolls"/> its poll quota) may be spent: if it is,
    /// mark it exhausted, interrupt a registered wait and report the overrun once — unless the task is parked in
    /// <c>cx.RegionAsync</c> (the region below is bounded by the same cancel and reports its own overrun) or is
    /// within its grace after such a wait.
    /// </summary>
    private void OnCleanupBudgetSpent(bool byPolls)
    {
        IInterruptible? interrupt = null;
        CancellationTokenSource? cts = null;
        string? report = null;
        TimeSpan rearmAt = TimeSpan.MaxValue;
        lock (this)
        {
            if (_state == TaskState.Completed || _cold is not { } c) return;
            if (byPolls ? !(c.CleanupPollLimit is { } l && _polls > l) : c.CleanupDeadline > Runtime.Now) return;
            c.CleanupExhausted = true;
            if (IsInternal) cts = c.Cts;
            if ((IsInternal || !c.SecondRaiseDone) && _wait is not null)
            {
                interrupt = _wait;
                _wait = null;
            }
            // Parked in cx.RegionAsync (regions it opened are still open) or, body done, waiting for them to close.
            bool parked = c.OpenOwned > 0 || c.AwaitingOwned;
            if (!c.OverrunReported && !parked)
            {
                if (Runtime.Now < c.ReportNotBefore)
                {
                    rearmAt = c.ReportNotBefore; // look again when the grace ends
                }
                else
                {
                    c.OverrunReported = true;
                    report = (byPolls, c.Acknowledged, interrupt is not null || _maskDepth > 0) switch
                    {
                        (true, true, _) => $"its cleanup poll quota ran out while draining (resumed {_polls} times)",
                        (true, false, _) => $"it was resumed {_polls} times without reaching a checkpoint after the cancel, past its cleanup poll quota",
                        (false, _, true) when IsInternal => "it was still running when the cleanup budget ran out; it is cancelled at its next checkpoint",
                        (false, true, _) => "its cleanup budget ran out while draining",
                        (false, false, true) => "its cleanup budget ran out while it was masked; it is cancelled at its next checkpoint",
                        _ => "it did not reach a checkpoint before its cleanup budget ran out (code that never awaits the runtime cannot be stopped)",
                    };
                }
            }
        }
        if (report is not null) ReportOverrun(report);
        if (rearmAt != TimeSpan.MaxValue) ArmCleanupTimer(rearmAt);
        interrupt?.Interrupt();
        if (cts is not null)
        {
            try { cts.Cancel(); }
            catch (ObjectDisposedException) { /* the task completed meanwhile */ }
            catch (Exception ex) { Runtime.Diagnostics.Report(DiagnosticKind.TokenCallbackFailed, this, ex.ToString()); }
        }
    }

    /// <summary>Arms (or re-arms) the task's own cleanup timer at <paramref name="at"/>.</summary>
    private void ArmCleanupTimer(TimeSpan at)
    {
        var t = Runtime.AddTimer(at, static s => ((TaskCore)s!).OnCleanupDeadline(), this);
        TimerEntry? old;
        lock (this)
        {
            old = C.CleanupTimer;
            C.CleanupTimer = t;
            if (_state == TaskState.Completed) { old = t; C.CleanupTimer = null; }
        }
        old?.Cancel();
    }

    private void ReportOverrun(string what)
    {
        var who = !IsInternal ? $"task '{Name}' in region '{Region.Name}'"
            : Name.StartsWith("finalizer #", StringComparison.Ordinal) ? Name
            : $"finalizer '{Name}' of region '{Region.Name}'";
        Runtime.Diagnostics.Report(DiagnosticKind.BudgetOverrun, this, $"{who} overran: {what}; reason {Reason}");
        Runtime.Observer?.OnBudgetOverrun(this);
    }

    /// <summary>Defers "did not reach a checkpoint" reports until <paramref name="at"/> (a finalizer started with its budget already spent).</summary>
    internal void SetReportNotBefore(TimeSpan at)
    {
        lock (this)
        {
            if (at > C.ReportNotBefore) C.ReportNotBefore = at;
        }
    }

    // ---------------------------------------------------------------- masks

    internal void EnterMask()
    {
        lock (this)
        {
            if (_maskDepth >= MaxMaskDepth)
                throw new InvalidOperationException($"Task '{Name}' nested more than {MaxMaskDepth} cancel masks; masks are for short critical sections.");
            _maskDepth++;
        }
        Runtime.Observer?.OnAccess(Id, "mask.enter");
    }

    internal void ExitMask()
    {
        bool exited = false;
        lock (this)
        {
            if (_maskDepth > 0)
            {
                _maskDepth--;
                exited = true;
            }
        }
        if (exited) Runtime.Observer?.OnAccess(Id, "mask.exit");
    }

    // ---------------------------------------------------------------- waits

    /// <summary>
    /// Registers a cancel-safe wait. Returns false when a cancel is already due, in which case the caller must
    /// interrupt the wait itself (outside any lock of its own).
    /// </summary>
    internal bool SetWait(IInterruptible wait)
    {
        lock (this)
        {
            bool due = (_state == TaskState.CancelRequested && (_maskDepth == 0 || CleanupExhaustedLocked()))
                       || (_state is TaskState.Cancelling or TaskState.Finalizing && _cold is { CleanupExhausted: true } c
                           && (!c.SecondRaiseDone || IsInternal));
            if (due) return false;
            _wait = wait;
            return true;
        }
    }

    /// <summary>When a cancel was requested: the cleanup deadline (MaxValue when none); otherwise null.</summary>
    internal TimeSpan? CleanupDeadlineIfCancelled
    {
        get
        {
            // A reason is never unset: no reason seen now is a read linearized before any cancel (no lock needed).
            if (Volatile.Read(ref _reason) is null) return null;
            lock (this) return _reason is null ? null : _cold?.CleanupDeadline ?? TimeSpan.MaxValue;
        }
    }

    /// <summary>True when a pending cancel's cleanup budget also counts resumptions (a poll quota); for the Lab's refinement oracle.</summary>
    internal bool HasCleanupPollLimit
    {
        get
        {
            lock (this) return _cold?.CleanupPollLimit is not null;
        }
    }

    /// <summary>True while the task is parked in a cancel-safe wait it has registered (tests use it to land a cancel inside the wait).</summary>
    internal bool HasRegisteredWait
    {
        get { lock (this) return _wait is not null; }
    }

    /// <summary>The wait the task is parked in (a snapshot), for the wait-for graph.</summary>
    internal IInterruptible? CurrentWait
    {
        get { lock (this) return _wait; }
    }

    internal void ClearWait(IInterruptible wait)
    {
        lock (this)
        {
            if (ReferenceEquals(_wait, wait)) _wait = null;
        }
    }

    /// <summary>The exception that an interrupted wait raises.</summary>
    internal Exception InterruptedException() =>
        PollCancel() ?? new CancelledException(Reason ?? new CancelReason(CancelKind.User, "wait interrupted", Runtime.Now, Region.Id, Id));

    // ---------------------------------------------------------------- budgets

    internal void Charge(long cost)
    {
        if (cost < 0) throw new ArgumentOutOfRangeException(nameof(cost), cost, "Cost cannot be negative.");
        long used;
        lock (this) used = C.Cost += cost;
        if (_budget?.Budget.CostQuota is { } q && used > q && _reason is null)
            RequestCancel(new CancelReason(CancelKind.CostBudget, $"cost quota of {q} used up", Runtime.Now, Region.Id, Id), Asupersync.Budget.Unlimited);
    }


    // ---------------------------------------------------------------- token bridge

    internal CancellationToken GetCancellationToken()
    {
        CancellationTokenSource cts;
        bool cancelNow;
        lock (this)
        {
            var c = C;
            if (c.Cts is null)
            {
                c.Cts = new CancellationTokenSource();
                cancelNow = IsInternal ? c.CleanupExhausted : _reason is not null;
            }
            else
            {
                return c.Cts.Token;
            }
            cts = c.Cts;
        }
        if (cancelNow) cts.Cancel();
        return cts.Token;
    }

    // ---------------------------------------------------------------- owned regions and obligations

    internal void AddOwnedRegion(RegionCore region)
    {
        lock (this)
        {
            (C.OwnedRegions ??= new List<RegionCore>()).Add(region);
            C.OpenOwned++;
        }
    }

    /// <summary>
    /// A region this task opened closed (the task resumes from <c>cx.RegionAsync</c>). If a cancel is pending, the
    /// task gets <see cref="OverrunReportGrace"/> before a "did not reach a checkpoint" report: the time it spent
    /// parked belonged to the region, which reports its own overrun.
    /// </summary>
    internal void OnOwnedRegionClosed(RegionCore region)
    {
        bool complete, arm = false;
        TimeSpan at = default;
        lock (this)
        {
            var c = C;
            c.OwnedRegions!.Remove(region);
            c.OpenOwned--;
            complete = c.OpenOwned == 0 && _state == TaskState.Finalizing && c.AwaitingOwned;
            if (complete) c.AwaitingOwned = false;
            else if (c.OpenOwned == 0 && _reason is not null && _state != TaskState.Completed)
            {
                at = Runtime.Now + OverrunReportGrace;
                if (at > c.ReportNotBefore) c.ReportNotBefore = at;
                arm = c.CleanupExhausted && !c.OverrunReported;
            }
        }
        if (complete) CompleteAfterOwnedRegions();
        if (arm) ArmCleanupTimer(at);
    }


    internal void AddHeld(Obligation o)
    {
        lock (this)
        {
            var c = C;
            o.HeldPrev = c.HeldTail;
            if (c.HeldTail is null) c.HeldHead = o;
            else c.HeldTail.HeldNext = o;
            c.HeldTail = o;
            o.InHeld = true;
            c.HeldCount++;
        }
    }

    internal void OnObligationResolved(Obligation o)
    {
        lock (this)
        {
            // After completion the list was dropped (everything in it was settled): nothing to unlink.
            if (!o.InHeld || _cold is not { } c || _state == TaskState.Completed) return;
            if (o.HeldPrev is null) c.HeldHead = o.HeldNext;
            else o.HeldPrev.HeldNext = o.HeldNext;
            if (o.HeldNext is null) c.HeldTail = o.HeldPrev;
            else o.HeldNext.HeldPrev = o.HeldPrev;
            o.HeldPrev = o.HeldNext = null;
            o.InHeld = false;
            c.HeldCount--;
        }
    }

    // ---------------------------------------------------------------- completion

    /// <summary>Marks the start of the body; returns false when it was cancelled before it ever ran.</summary>
    protected bool TryBeginRunning(out CancelReason? cancelledBeforeStart)
    {
        lock (this)
        {
            if (_state == TaskState.Created)
            {
                _state = TaskState.Running;
                cancelledBeforeStart = null;
                return true;
            }
            // A finalizer always runs, also when the cancel that reached its region came first (it is masked); so
            // does a body handed a resource to release, with the cancel pending.
            bool runs = IsInternal || RunsBodyIfCancelledBeforeStart || _reason is null;
            cancelledBeforeStart = runs ? null : _reason;
            return runs;
        }
    }

    /// <summary>
    /// Turns what the body produced into the task's final outcome kind: joins the pending cancel, any panic
    /// from a stray step, and obligation leaks; settles every obligation the task still holds.
    /// </summary>
    protected Outcome<Unit> SettleAtEnd(Outcome<Unit> body)
    {
        CancelReason? reason;
        List<Exception>? panics;
        List<Obligation>? held;
        lock (this)
        {
            if (_state != TaskState.Completed) _state = TaskState.Finalizing;
            reason = _reason;
            panics = _cold?.StepPanics;
            held = null;
            if (_cold is { HeldCount: > 0 } hc)
            {
                held = new List<Obligation>(hc.HeldCount);
                for (var o = hc.HeldHead; o is not null; o = o.HeldNext) held.Add(o);
            }
        }
        var extra = Outcome.Ok();
        if (reason is not null) extra = Outcome<Unit>.Cancelled(reason);
        if (panics is not null)
            extra = Outcome<Unit>.Join(extra, Outcome<Unit>.Panicked(panics.Count == 1 ? panics[0] : new AggregateException(panics)));
        var result = Outcome<Unit>.Join(body, extra);
        if (held is not null)
        {
            if (result.Kind is OutcomeKind.Cancelled or OutcomeKind.Panicked)
            {
                var r = result.CancelReason
                        ?? new CancelReason(CancelKind.ResourceUnavailable, "holder task panicked: " + result.Exception!.Message, Runtime.Now, Region.Id, Id);
                foreach (var o in held) o.AbortByRuntime(r);
            }
            else
            {
                var leaked = new List<Obligation>();
                var r = new CancelReason(CancelKind.ResourceUnavailable, $"leaked by task '{Name}'", Runtime.Now, Region.Id, Id);
                foreach (var o in held)
                {
                    if (Runtime.Options.Fault == KernelFault.DropObligationSilently) continue; // test-only fault: forgotten, not recorded
                    if (o.MarkLeaked(r)) leaked.Add(o);
                }
                if (leaked.Count > 0)
                {
                    var msg = $"task '{Name}' in region '{Region.Name}' ended {result.Kind} still holding {leaked.Count} reserved obligation(s): " +
                              string.Join(", ", leaked.Select(o => $"#{o.Id} {o.Kind} '{o.Description}'"));
                    if (LeakResponses.Apply(Region, this, msg) is { } failure) result = Outcome<Unit>.Join(result, failure);
                }
            }
        }
        return result;
    }

    /// <summary>Whether the end of the body needs <see cref="SettleAtEnd"/> (a cancel, obligations, stray panics…).</summary>
    protected bool NeedsSettle => Volatile.Read(ref _reason) is not null || Volatile.Read(ref _cold) is not null;

    /// <summary>
    /// With the lock held: the final transition to Completed, unless regions this task opened are still open
    /// (then it records that it waits for them and returns false; the typed part keeps the pending outcome). Hands
    /// back what to release outside the lock.
    /// </summary>
    protected bool TryMarkCompletedLocked(out TimerEntry? t1, out TimerEntry? t2, out CancellationTokenSource? cts)
    {
        var c = _cold;
        t1 = t2 = null;
        cts = null;
        if (c is { OpenOwned: > 0 })
        {
            c.AwaitingOwned = true;
            return false;
        }
        _state = TaskState.Completed;
        _done = true;
        _wait = null;
        if (c is not null)
        {
            t1 = c.DeadlineTimer;
            t2 = c.CleanupTimer;
            cts = c.Cts;
            c.DeadlineTimer = c.CleanupTimer = null;
            c.HeldHead = c.HeldTail = null;
            c.HeldCount = 0;
            c.OwnedRegions = null;
        }
        return true;
    }

    protected static void ReleaseAfterCompleted(TimerEntry? t1, TimerEntry? t2, CancellationTokenSource? cts)
    {
        t1?.Cancel();
        t2?.Cancel();
        cts?.Dispose();
    }

    protected abstract void CompleteAfterOwnedRegions();

    /// <summary>Classifies an exception that escaped the body.</summary>
    protected Outcome<Unit> Classify(Exception ex)
    {
        switch (ex)
        {
            case CancelledException ce:
                return Outcome<Unit>.Cancelled(ce.Reason);
            case TaskErrorException:
                return Outcome<Unit>.Err(ex);
            case OperationCanceledException when Reason is { } r:
                return Outcome<Unit>.Cancelled(r);
            default:
                return Outcome<Unit>.Panicked(ex);
        }
    }

    /// <summary>Unwraps the exception of a faulted or cancelled task.</summary>
    protected Exception ExceptionOf(Task t)
    {
        if (t.IsFaulted)
        {
            var agg = t.Exception!;
            return agg.InnerExceptions.Count == 1 ? agg.InnerExceptions[0] : agg;
        }
        // A cancelled body of a cancelled task ends Cancelled with the task's reason whatever the exception
        // says (the outcome is joined with it anyway), so skip rethrowing just to read it: throwing is the
        // most expensive part of cancelling many tasks.
        if (Reason is { } r) return new CancelledException(r);
        try
        {
            t.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            return ex;
        }
        throw new UnreachableException("A cancelled task did not throw.");
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var reason = Volatile.Read(ref _reason);   // a display: no lock, a slightly stale reason is fine
        return $"Task {Id} '{Name}' ({State}{(reason is null ? "" : ", " + reason.Kind)}) in region {Region.Id} '{Region.Name}'";
    }
}
