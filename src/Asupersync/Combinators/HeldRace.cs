using Asupersync.Kernel;

namespace Asupersync;

/// <summary>
/// The branches of a race, select or timeout, run without a task of the combinator's own: the combinator runs on
/// its caller's task, which holds a child region open (<see cref="RegionCore.OpenChild"/> with <c>held</c>) while it
/// starts the branches as tasks of that region, waits for the first to complete, cancels and drains the others, and
/// then lets the region close.
/// </summary>
/// <remarks>
/// <para>Why this shape: a race used to open a region whose body task spawned the branches, reported their ends
/// through a channel and joined them — three tasks, a channel and several scheduling hops for two branches that
/// may already be done. Here the branches report their completion straight to this object
/// (<see cref="ITaskListener{T}"/>), the caller waits on a single non-interruptible wait, and where the driver
/// allows it each branch's first step runs inline (<see cref="TaskCore.Start"/>): a branch that completes
/// synchronously wins before the next one is created, and a branch that never started has nothing to drain.</para>
/// <para>Semantics kept: the region owns the branches, so a cancel of the caller reaches them (ParentCancelled) and
/// the caller's wait ends when they ended; the caller never returns while a branch runs; the cancel is not raised
/// in the caller by the combinator (its outcome reports it, and the caller's next checkpoint raises).</para>
/// <para>All mutable state is guarded by <c>lock(this)</c>; completions arrive on any thread.</para>
/// </remarks>
internal sealed class HeldRace<T> : ITaskListener<T>
{
    private readonly TaskCore _caller;
    // The started branches, in start order. The first two live in fields (a race of two allocates no array). A
    // branch's outcome is its task's (published before the task tells this object it completed).
    private TaskCore<T>? _t0, _t1;
    private readonly TaskCore<T>?[]? _more; // branches 2…
    private int _started;
    private int _reported;
    private int _first = -1;
    private RegionCloseOp? _waiter;

    internal HeldRace(Cx cx, string name, int count, RegionOptions options, Budget? budget = null, TimeSpan? now = null)
    {
        _caller = cx.Task;
        if (count > 2) _more = new TaskCore<T>?[count - 2];
        Region = cx.Region.OpenChild(name, cx.Task, options, held: true, budget, now);
    }

    internal RegionCore Region { get; }

    private ref TaskCore<T>? At(int i)
    {
        if (i == 0) return ref _t0;
        if (i == 1) return ref _t1;
        return ref _more![i - 2];
    }

    /// <summary>The outcome of a completed branch (default while it runs). Caller holds the lock.</summary>
    private Outcome<T> OutcomeAt(int i) => At(i) is { IsCompleted: true } t ? t.Outcome : default;

    // Lock-free reads (the common race of branches that complete inline takes two locks, not nine): _started and the
    // branch slots are written by the caller's own thread (OnSpawned runs inside its Spawn); _first and _reported only
    // grow, under the lock, after the branch's outcome was published; a stale read only sends the caller to the
    // locked wait, which decides again.
    internal int Started => Volatile.Read(ref _started);

    /// <summary>The first branch that completed, or -1.</summary>
    internal int First => Volatile.Read(ref _first);

    /// <summary>The outcome of branch <paramref name="index"/> (called by the caller once it completed).</summary>
    internal Outcome<T> OutcomeOf(int index) => OutcomeAt(index);

    /// <summary>Starts the next branch (inline where the driver allows it); false when the region no longer admits tasks.</summary>
    internal bool TryStart(Cx cx, string name, Func<Cx, Task<T>> body)
    {
        try
        {
            Region.Spawn<T>(name, body, default, cx.Capabilities, authority: cx.Authority, listener: this, inline: true);
            return true;
        }
        catch (RegionClosedException)
        {
            // The caller was cancelled while its branches were starting: the region cancels the started ones.
            return false;
        }
    }

    public void OnSpawned(TaskCore<T> task)
    {
        lock (this) At(_started++) = task;
    }

    public void OnCompleted(TaskCore<T> task, Outcome<T> outcome)
    {
        RegionCloseOp? wake;
        lock (this)
        {
            int i = 0;
            while (!ReferenceEquals(At(i), task)) i++;
            _reported++;
            if (_first < 0) _first = i;
            wake = _waiter;
            _waiter = null;
        }
        wake?.TrySetResult(default);
    }

    /// <summary>Waits until a branch completed (<paramref name="all"/> false) or every started branch did.</summary>
    internal async ValueTask WaitAsync(bool all)
    {
        while (true)
        {
            if (all ? Volatile.Read(ref _reported) == _started : Volatile.Read(ref _first) >= 0) return;
            RegionCloseOp op;
            lock (this)
            {
                if (all ? _reported == _started : _first >= 0) return;
                op = _waiter = new RegionCloseOp(_caller);
            }
            // Not interruptible: a cancel of the caller reaches the branches through the region, and they end.
            _caller.Runtime.Observer?.OnWait(_caller, "region", Region.Id);
            await op.AsUntypedValueTask();
        }
    }

    /// <summary>Cancels every started branch other than <paramref name="winner"/> that has not completed.</summary>
    internal void CancelOthers(int winner, CancelReason reason)
    {
        TaskCore<T>?[]? cancel = null;
        lock (this)
        {
            for (int i = 0; i < _started; i++)
            {
                if (i == winner || At(i)!.IsCompleted) continue;
                (cancel ??= new TaskCore<T>?[_started])[i] = At(i);
            }
        }
        if (cancel is null) return;
        foreach (var t in cancel) t?.RequestCancel(reason, default);
    }

    /// <summary>True while some started branch has not completed.</summary>
    internal bool AnyRunning
    {
        get { return Volatile.Read(ref _reported) < _started; }
    }

    /// <summary>The join of the non-winners' outcomes that are more severe than a <paramref name="lostTier"/> cancellation (a panic is never hidden).</summary>
    internal Outcome<Unit> SevereLosers(int winner, int lostTier)
    {
        // Lock-free: called by the caller after every started branch reported (the branches no longer change).
        var acc = Outcome.Ok();
        for (int i = 0; i < _started; i++)
        {
            if (i == winner) continue;
            var o = OutcomeAt(i);
            if (!At(i)!.IsCompleted)
                Sync.PrimitiveSupport.Invariant(false, ref _id, "LoserDrain", $"branch '{At(i)!.Name}' still running after the combinator drained its losers");
            if (o.IsPanicked || (o.IsCancelled && o.CancelReason!.Tier > lostTier)) acc = Outcome<Unit>.Join(acc, o.WithoutValue());
        }
        return acc;
    }

    private long _id;

    /// <summary>
    /// Lets the region close and waits until it did, then turns <paramref name="result"/> into the combinator's
    /// outcome: a cancel of the caller that reached the region is reported with the caller's own reason (unless
    /// something panicked: a panic is never hidden), and a panic of the region itself (a branch's finalizer) joins.
    /// </summary>
    internal async ValueTask<Outcome<TResult>> CloseAsync<TResult>(Outcome<TResult> result, bool computed, string name)
    {
        Region.ReleaseHold();
        if (!Region.IsClosed)
        {
            var op = new RegionCloseOp(_caller);
            _caller.Runtime.Observer?.OnWait(_caller, "region", Region.Id);
            Region.WhenClosed(op);
            await op.AsUntypedValueTask();
        }
        var region = Region.FinalOutcome;
        if (region.IsPanicked && !result.IsPanicked) return Outcome<TResult>.FromNonOk(region.Kind, region.Payload);
        if (result.IsPanicked) return result;
        if (_caller.Reason is { } outside && Region.Reason is { } rr && !(rr.Kind == CancelKind.Timeout && rr.OriginRegion == Region.Id))
            return Outcome<TResult>.Cancelled(outside);
        if (!computed)
            return Outcome<TResult>.Cancelled(_caller.Reason ?? Region.Reason ?? new CancelReason(CancelKind.ParentCancelled, name + " was interrupted"));
        return result;
    }
}
