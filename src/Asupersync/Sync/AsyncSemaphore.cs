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
public sealed class AsyncSemaphore : IWaitOwner<int>
{
    private readonly Lock _gate = new();
    private readonly WaitQueue<int> _waiters = new();
    private int _available;
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
    /// <example><code>using var permit = await sem.AcquireAsync(cx);</code></example>
    public ValueTask<SemaphorePermit> AcquireAsync(Cx cx, int count = 1)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var task = cx.Task;
        task.Checkpoint();
        PrimitiveWait<int> w;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(task, ref _id, "semaphore");
            if (_waiters.IsEmpty && _available >= count)
            {
                _available -= count;
                w = null!;
            }
            else
            {
                w = new PrimitiveWait<int>(task, this) { Request = count };
                _waiters.Enqueue(w);
            }
        }
        if (w is null) return new ValueTask<SemaphorePermit>(MakePermit(cx, count));
        PrimitiveSupport.Park(w, "semaphore", _id);
        return Slow(cx, w);

        async ValueTask<SemaphorePermit> Slow(Cx cx, PrimitiveWait<int> w)
        {
            int n = await w.AsValueTask();
            return MakePermit(cx, n);
        }
    }

    /// <summary>Acquires <paramref name="count"/> permits if they are free and nobody is queued; never waits.</summary>
    /// <param name="cx">The acquiring task's context; that task becomes the permit's holder.</param>
    /// <param name="permit">The permit when acquired.</param>
    /// <param name="count">How many permits (at least 1).</param>
    /// <returns>True when acquired.</returns>
    public bool TryAcquire(Cx cx, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SemaphorePermit? permit, int count = 1)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(cx.Task, ref _id, "semaphore");
            if (!_waiters.IsEmpty || _available < count)
            {
                permit = null;
                return false;
            }
            _available -= count;
        }
        permit = MakePermit(cx, count);
        return true;
    }

    private SemaphorePermit MakePermit(Cx cx, int count)
    {
        try
        {
            var permit = new SemaphorePermit(this, count);
            permit.Obligation = cx.Reserve(ObligationKind.SemaphorePermit, "semaphore permit", permit.OnResolved);
            return permit;
        }
        catch
        {
            // The ledger refused (region limits or state): the permits were never handed out.
            Return(count);
            throw;
        }
    }

    /// <summary>Returns permits and serves waiters in order.</summary>
    internal void Return(int count)
    {
        List<PrimitiveWait<int>>? granted;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "semaphore");
            _available += count;
            granted = GrantLocked();
        }
        Deliver(granted);
    }

    private List<PrimitiveWait<int>>? GrantLocked()
    {
        List<PrimitiveWait<int>>? granted = null;
        while (_waiters.Peek() is { } head && head.Request <= _available)
        {
            _waiters.Dequeue();
            _available -= (int)head.Request;
            head.Grant((int)head.Request);
            (granted ??= new List<PrimitiveWait<int>>()).Add(head);
        }
        return granted;
    }

    private static void Deliver(List<PrimitiveWait<int>>? granted)
    {
        if (granted is null) return;
        foreach (var w in granted) w.Deliver();
    }

    void IWaitOwner<int>.OnWaitInterrupted(PrimitiveWait<int> wait)
    {
        PrimitiveSupport.Touch(null, ref _id, "semaphore");
        List<PrimitiveWait<int>>? granted;
        lock (_gate)
        {
            if (wait.Granted) _available += wait.Value; // handed over in the instant of the cancel: give it back
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
public sealed class SemaphorePermit : IDisposable
{
    private readonly AsyncSemaphore _semaphore;

    internal SemaphorePermit(AsyncSemaphore semaphore, int count)
    {
        _semaphore = semaphore;
        Count = count;
    }

    internal Obligation Obligation { get; set; } = null!;

    /// <summary>How many permits this holds.</summary>
    public int Count { get; }

    /// <summary>True until released (by the holder, or by the runtime when the holder ended).</summary>
    public bool IsHeld => Obligation.State == ObligationState.Reserved;

    /// <summary>Returns the permits (commits the obligation: the permit was used and given back).</summary>
    /// <exception cref="InvalidOperationException">Not called by the holder task, or already released.</exception>
    public void Release() => Obligation.Commit();

    /// <summary>Returns the permits if still held (aborts the obligation); otherwise does nothing. Idempotent.</summary>
    public void Dispose() => Obligation.Dispose();

    // Committed, aborted or leaked: in every case the permits go back.
    internal void OnResolved(Obligation obligation, ObligationState state) => _semaphore.Return(Count);
}
