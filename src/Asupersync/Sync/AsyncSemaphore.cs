using System.Diagnostics;
using Asupersync.Kernel;

namespace Asupersync.Sync;

/// <summary>
/// An asynchronous counting semaphore, FIFO-fair, whose permits are tracked obligations
/// (<see cref="ObligationKind.SemaphorePermit"/>): a permit a task forgets to release is reported as a leak and
/// returned to the semaphore, never lost.
/// </summary>
/// <remarks>
/// <para><b>Fairness.</b> Requests are served in arrival order; a large request at the head of the queue is not
/// overtaken by smaller ones behind it (no starvation).</para>
/// <para><b>Obligations.</b> A permit is held by the task that acquired it: only that task may release it
/// (<see cref="SemaphorePermit.Release"/> or <see cref="SemaphorePermit.Dispose"/>). If the task ends Cancelled
/// or Panicked while holding it, the runtime aborts it and the permits return. If it ends Ok or Err still
/// holding it, the runtime reports a leak (the region's outcome becomes Err by default) and still returns the
/// permits.</para>
/// <para><b>Cancel-safety.</b> A cancel while waiting in <see cref="AcquireAsync"/> takes no permit; permits
/// granted in that very instant are handed on to the next waiter.</para>
/// <para><b>As a signal.</b> <see cref="Release(int)"/> / <see cref="AddPermits"/> add permits that no permit
/// object holds (the <c>SemaphoreSlim(0)</c> signalling use: a producer releases, a consumer acquires and
/// <see cref="SemaphorePermit.Forget"/>s). <see cref="SemaphorePermit.Forget"/> consumes held permits for good
/// (Tokio's <c>forget</c>): the obligation is committed, the permits do not come back.</para>
/// <para><b>Closing.</b> <see cref="Close"/> fails every current and future <see cref="AcquireAsync"/> with
/// <see cref="SemaphoreClosedException"/> and makes <see cref="TryAcquire"/> return false. Permits already held
/// stay valid and are still released normally.</para>
/// </remarks>
/// <example>
/// <code>
/// var pool = new AsyncSemaphore(4);              // at most 4 concurrent downloads
/// using (await pool.AcquireAsync(cx))
/// {
///     await DownloadAsync(cx, url);
/// }
/// </code>
/// </example>
public sealed class AsyncSemaphore : IWaitOwner<SemaphorePermit>, IWaitForResource
{
    private readonly Lock _gate = new();
    private readonly WaitQueue<SemaphorePermit> _waiters = new();
    private int _available;
    private bool _closed;
    private bool _signalled; // Release(n)/AddPermits was used: any code may add permits, so a waiter's wakers are unknown
    private HolderList<SemaphorePermit> _held; // the permits handed out, with their holder tasks (for the wait-for graph)
    private long _id;

    /// <summary>Creates a semaphore with <paramref name="permits"/> free permits.</summary>
    /// <param name="permits">The initial (and usual maximum) number of permits; non-negative.</param>
    public AsyncSemaphore(int permits)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(permits);
        _available = permits;
    }

    /// <summary>Free permits right now (a snapshot).</summary>
    public int Available
    {
        get { lock (_gate) return _available; }
    }

    /// <summary>True once <see cref="Close"/> was called.</summary>
    public bool IsClosed
    {
        get { lock (_gate) return _closed; }
    }

    /// <summary>How many requests are waiting (a snapshot).</summary>
    public int WaitingCount
    {
        get { lock (_gate) return _waiters.Count; }
    }

    /// <summary>
    /// Acquires <paramref name="count"/> permits, waiting in FIFO order. A checkpoint; cancel-safe.
    /// </summary>
    /// <param name="cx">The acquiring task's context; that task becomes the permit's holder.</param>
    /// <param name="count">How many permits (at least 1).</param>
    /// <returns>The permit, a reserved obligation; release or dispose it.</returns>
    /// <exception cref="CancelledException">The task was cancelled before or while waiting; nothing was taken.</exception>
    /// <exception cref="SemaphoreClosedException">The semaphore is closed, or was closed while waiting; nothing was taken.</exception>
    /// <example><code>using var permit = await sem.AcquireAsync(cx);</code></example>
    public ValueTask<SemaphorePermit> AcquireAsync(Cx cx, int count = 1)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (ChoicePoint.IsActive(cx.Task)) return ChoicePoint.BeforeAsync(cx.Task, (this, cx, count), static s => s.Item1.AcquireCore(s.cx, s.count));
        return AcquireCore(cx, count);
    }

    private ValueTask<SemaphorePermit> AcquireCore(Cx cx, int count)
    {
        var task = cx.Task;
        task.Checkpoint();
        PrimitiveWait<SemaphorePermit> w;
        SemaphorePermit? now = null;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(task, ref _id, "semaphore");
            if (_closed) return ValueTask.FromException<SemaphorePermit>(Closed());
            if (_waiters.IsEmpty && _available >= count)
            {
                _available -= count;
                now = HandOutLocked(count, task);
                w = null!;
            }
            else
            {
                w = new PrimitiveWait<SemaphorePermit>(task, this) { Request = count };
                _waiters.Enqueue(w);
            }
        }
        if (now is not null) return new ValueTask<SemaphorePermit>(MakePermit(cx, now));
        PrimitiveSupport.Park(w, "semaphore", _id);
        return Slow(cx, w);

        async ValueTask<SemaphorePermit> Slow(Cx cx, PrimitiveWait<SemaphorePermit> w) => MakePermit(cx, await w.AsValueTask());
    }

    /// <summary>Acquires <paramref name="count"/> permits if they are free, nobody is queued and the semaphore is open; never waits.</summary>
    /// <param name="cx">The acquiring task's context; that task becomes the permit's holder.</param>
    /// <param name="permit">The permit when acquired.</param>
    /// <param name="count">How many permits (at least 1).</param>
    /// <returns>True when acquired.</returns>
    public bool TryAcquire(Cx cx, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SemaphorePermit? permit, int count = 1)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        SemaphorePermit p;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(cx.Task, ref _id, "semaphore");
            if (_closed || !_waiters.IsEmpty || _available < count)
            {
                permit = null;
                return false;
            }
            _available -= count;
            p = HandOutLocked(count, cx.Task);
        }
        permit = MakePermit(cx, p);
        return true;
    }

    /// <summary>A permit for <paramref name="count"/> permits held by <paramref name="holder"/>, linked into the holder list (under the lock).</summary>
    private SemaphorePermit HandOutLocked(int count, TaskCore holder) => _held.Add(new SemaphorePermit(this, count, holder));

    private SemaphorePermit MakePermit(Cx cx, SemaphorePermit permit)
    {
        try
        {
            permit.Obligation = cx.Reserve(ObligationKind.SemaphorePermit, "semaphore permit", (IObligationHook)permit);
            return permit;
        }
        catch
        {
            // The ledger refused (region limits or state): the permits were never handed out.
            Return(permit, giveBack: true);
            throw;
        }
    }

    /// <summary>
    /// Adds <paramref name="count"/> new permits (held by nobody) and serves waiters in order — the signalling use
    /// of <c>SemaphoreSlim.Release(n)</c>. Not an obligation: it may be called from any code, inside a task or not.
    /// </summary>
    /// <param name="count">How many permits to add (at least 1).</param>
    /// <returns>The number of free permits before the call.</returns>
    /// <exception cref="SemaphoreFullException">The count of permits would overflow <see cref="int.MaxValue"/>.</exception>
    /// <example><code>
    /// var ready = new AsyncSemaphore(0);
    /// // producer:   ready.Release();
    /// // consumer:   (await ready.AcquireAsync(cx)).Forget();
    /// </code></example>
    public int Release(int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        List<PrimitiveWait<SemaphorePermit>>? granted;
        int before;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "semaphore");
            _signalled = true;
            before = _available;
            if (_available > int.MaxValue - count) throw new SemaphoreFullException();
            _available += count;
            granted = GrantLocked();
        }
        Deliver(granted);
        return before;
    }

    /// <summary>Adds <paramref name="count"/> permits (Tokio's <c>add_permits</c>); the same as <see cref="Release(int)"/>.</summary>
    /// <param name="count">How many permits to add (at least 1).</param>
    /// <exception cref="SemaphoreFullException">The count of permits would overflow <see cref="int.MaxValue"/>.</exception>
    public void AddPermits(int count) => Release(count);

    /// <summary>
    /// Closes the semaphore: every waiting <see cref="AcquireAsync"/> fails with <see cref="SemaphoreClosedException"/>
    /// (taking nothing), and so does every later one; <see cref="TryAcquire"/> returns false. Held permits stay
    /// valid and are returned as usual. Idempotent.
    /// </summary>
    public void Close()
    {
        List<PrimitiveWait<SemaphorePermit>>? failed = null;
        lock (_gate)
        {
            PrimitiveSupport.Touch(null, ref _id, "semaphore");
            if (_closed) return;
            _closed = true;
            if (!_waiters.IsEmpty) failed = _waiters.DrainAll();
        }
        PrimitiveSupport.FailAll(failed, Closed);
    }

    private static SemaphoreClosedException Closed() => new("the semaphore is closed");

    /// <summary>The holder let go of <paramref name="permit"/>: its permits come back unless consumed (forgotten); serves waiters in order.</summary>
    internal void Return(SemaphorePermit permit, bool giveBack)
    {
        List<PrimitiveWait<SemaphorePermit>>? granted;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "semaphore");
            _held.Remove(permit);
            if (!giveBack) return;
            _available += permit.Count;
            granted = GrantLocked();
        }
        Deliver(granted);
    }

    private List<PrimitiveWait<SemaphorePermit>>? GrantLocked()
    {
        List<PrimitiveWait<SemaphorePermit>>? granted = null;
        while (_waiters.Peek() is { } head && head.Request <= _available)
        {
            _waiters.Dequeue();
            _available -= (int)head.Request;
            head.Grant(HandOutLocked((int)head.Request, head.Task));
            (granted ??= new List<PrimitiveWait<SemaphorePermit>>()).Add(head);
        }
        return granted;
    }

    // A waiter waits on every holder (only they give permits back) and on the waiter just ahead of it (served first;
    // it leaving can let this one in; it waits in turn on the one ahead of it, so the chain covers the queue).
    // Unknown when the semaphore is a signal (any code may Release) or has more holders than the graph follows.
    bool IWaitForResource.AddHolders(object wait, List<TaskCore> into, out string resource)
    {
        resource = WaitForGraph.Name("semaphore", _id, this);
        lock (_gate)
        {
            var w = (PrimitiveWait<SemaphorePermit>)wait;
            if (!w.Queued || _signalled) return false;
            if (!_held.AddHolders(into)) return false;
            if (w.Prev is { } ahead) into.Add(ahead.Task);
            return true;
        }
    }

    private static void Deliver(List<PrimitiveWait<SemaphorePermit>>? granted)
    {
        if (granted is null) return;
        foreach (var w in granted) w.Deliver();
    }

    void IWaitOwner<SemaphorePermit>.OnWaitInterrupted(PrimitiveWait<SemaphorePermit> wait)
    {
        PrimitiveSupport.Touch(null, ref _id, "semaphore");
        List<PrimitiveWait<SemaphorePermit>>? granted;
        lock (_gate)
        {
            if (wait.Granted)
            {
                // Handed over in the instant of the cancel: give it back.
                _held.Remove(wait.Value);
                _available += wait.Value.Count;
            }
            else _waiters.Remove(wait);
            // Either way the head may have changed (a large request leaving can unblock smaller ones).
            granted = GrantLocked();
            AssertInvariants();
        }
        Deliver(granted);
    }

    private void AssertInvariants()
    {
        PrimitiveSupport.Invariant(_available >= 0, ref _id, "PrimitiveViolation", "permits never go negative");
        PrimitiveSupport.Invariant(_waiters.Peek() is not { } h || h.Request > _available, ref _id, "LostWakeup", "the head waiter is served as soon as its permits are free");
    }
}

/// <summary>
/// Permits acquired from a <see cref="AsyncSemaphore"/>: a reserved obligation of kind
/// <see cref="ObligationKind.SemaphorePermit"/>. Release or dispose it (only the acquiring task may).
/// </summary>
public sealed class SemaphorePermit : IDisposable, IAsyncDisposable, IObligationHook, IHeld<SemaphorePermit>
{
    private readonly AsyncSemaphore _semaphore;
    private volatile bool _forgotten;

    internal SemaphorePermit(AsyncSemaphore semaphore, int count, TaskCore holder)
    {
        _semaphore = semaphore;
        Count = count;
        Holder = holder;
    }

    internal Obligation Obligation { get; set; } = null!;

    // The wait-for graph's holder list, guarded by the semaphore's lock.
    TaskCore? IHeld<SemaphorePermit>.Holder => Holder;

    SemaphorePermit? IHeld<SemaphorePermit>.PrevHeld { get; set; }

    SemaphorePermit? IHeld<SemaphorePermit>.NextHeld { get; set; }

    internal TaskCore Holder { get; }

    /// <summary>How many permits this holds.</summary>
    public int Count { get; }

    /// <summary>True until released (by the holder, or by the runtime when the holder ended).</summary>
    public bool IsHeld => Obligation.State == ObligationState.Reserved;

    /// <summary>Returns the permits (commits the obligation: the permit was used and given back).</summary>
    /// <exception cref="InvalidOperationException">Not called by the holder task, or already released.</exception>
    public void Release() => Obligation.Commit();

    /// <summary>
    /// Consumes the permits for good (Tokio's <c>forget</c>): the obligation is committed but the permits are not
    /// returned, so the semaphore has <see cref="Count"/> fewer permits from now on (until someone calls
    /// <see cref="AsyncSemaphore.Release(int)"/>). The consuming side of the signalling use.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not called by the holder task, or already released.</exception>
    public void Forget()
    {
        _forgotten = true;
        try
        {
            Obligation.Commit();
        }
        catch
        {
            _forgotten = false;
            throw;
        }
    }

    /// <summary>Returns the permits if still held (aborts the obligation); otherwise does nothing. Idempotent.</summary>
    public void Dispose() => Obligation.Dispose();

    /// <summary>
    /// Releases like <see cref="Dispose"/> (for <c>await using</c>). Under the Lab this is a choice point before
    /// the release, so other tasks can run between the last use of the permits and the release, as
    /// they can in production; elsewhere it completes synchronously.
    /// </summary>
    /// <returns>A task completing once released.</returns>
    public ValueTask DisposeAsync()
    {
        if (ChoicePoint.IsActiveHere(out var task)) return ChoicePoint.BeforeAsync(task, this, static g => g.Dispose());
        Dispose();
        return default;
    }

    // Committed, aborted or leaked: in every case the permits go back, unless forgotten (committed as consumed).
    void IObligationHook.OnResolved(Obligation obligation, ObligationState state)
    {
        _semaphore.Return(this, giveBack: !(_forgotten && state == ObligationState.Committed));
    }
}

/// <summary>
/// Raised by <see cref="AsyncSemaphore.AcquireAsync"/> when the semaphore is (or becomes, while waiting) closed.
/// </summary>
/// <remarks>It derives from <see cref="TaskErrorException"/>: a task that lets it propagate ends Err, not Panicked.</remarks>
public sealed class SemaphoreClosedException : TaskErrorException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was attempted.</param>
    public SemaphoreClosedException(string message) : base(message) { }
}
