using System.Diagnostics;
using Asupersync.Kernel;

namespace Asupersync.Sync;

/// <summary>
/// An asynchronous, FIFO-fair mutual-exclusion lock whose wait is cancel-safe. The lock is held by a
/// <see cref="MutexGuard"/>; disposing the guard releases it.
/// </summary>
/// <remarks>
/// <para><b>Fairness.</b> Waiters are served strictly in arrival order: a release hands the lock directly to
/// the oldest waiter, so a newcomer (even <see cref="TryLock"/>) can never barge ahead of a queued task.</para>
/// <para><b>Cancel-safety.</b> A task cancelled while waiting in <see cref="LockAsync"/> leaves the queue and
/// raises <see cref="CancelledException"/>; it does not take the lock, and if the lock had already been handed
/// to it in that very instant, it is passed on to the next waiter — no wake-up is lost. A wait that completed
/// before the cancel returns its guard (the cancel is raised at the next checkpoint), so the guard is never
/// lost either: hold it in a <c>using</c>.</para>
/// <para><b>Poisoning</b> (opt in: <c>new AsyncMutex(poisoning: true)</c>, Rust's semantics). A holder that ends
/// Panicked may leave the protected state half-updated; the lock then becomes <see cref="IsPoisoned"/>, and the next
/// guard says so (<see cref="MutexGuard.WasPoisoned"/>) so that its holder can check or repair the state and call
/// <see cref="MutexGuard.ClearPoison"/>. Taking the lock still succeeds. The lock is poisoned when the body of
/// <see cref="WithLockAsync"/> throws an exception that would end its task Panicked (not a cancel, not a
/// <see cref="TaskErrorException"/>), or explicitly by <see cref="MutexGuard.Poison"/>. A plain <c>using</c> block
/// cannot poison by itself: .NET gives a <c>Dispose</c> no way to see an exception passing through it (Rust's
/// <c>thread::panicking</c>), so use <see cref="WithLockAsync"/> where the state can be broken half-way.</para>
/// <para>The guard is not tied to a task: any code may dispose it. Disposing it twice is harmless. (Named
/// <c>AsyncMutex</c> so that it does not clash with <see cref="System.Threading.Mutex"/> under implicit usings.)</para>
/// </remarks>
/// <example>
/// <code>
/// var mutex = new AsyncMutex();
/// using (await mutex.LockAsync(cx))
/// {
///     balance += 10;          // exclusive
/// }
/// </code>
/// </example>
public sealed class AsyncMutex : IWaitOwner<MutexGuard>, IWaitForResource
{
    private readonly Lock _gate = new();
    private readonly WaitQueue<MutexGuard> _waiters = new();
    private bool _held;
    private TaskCore? _holder; // the task that took the lock (for the wait-for graph); null when unknown
    private long _id;
    private volatile bool _poisoned;

    /// <summary>Creates an unlocked mutex (without poisoning).</summary>
    public AsyncMutex() { }

    /// <summary>Creates an unlocked mutex; with <paramref name="poisoning"/> it is poisoned by a holder ending Panicked (see the remarks).</summary>
    /// <param name="poisoning">Whether the lock tracks poisoning.</param>
    public AsyncMutex(bool poisoning) => IsPoisoning = poisoning;

    /// <summary>True when the mutex was created with poisoning.</summary>
    public bool IsPoisoning { get; }

    /// <summary>True when a holder ended Panicked (or called <see cref="MutexGuard.Poison"/>) since the poison was last cleared.</summary>
    public bool IsPoisoned => _poisoned;

    internal void SetPoisoned(bool poisoned)
    {
        if (!IsPoisoning) throw Poisoning.NotPoisoning("mutex");
        _poisoned = poisoned;
    }

    /// <summary>
    /// Takes the lock, runs <paramref name="body"/> holding it, and releases it on every ending. If the body throws an
    /// exception that would end the task Panicked, a poisoning mutex is marked poisoned before the release (the
    /// exception propagates unchanged). Cancel-safe like <see cref="LockAsync"/>.
    /// </summary>
    /// <param name="cx">The task's context.</param>
    /// <param name="body">The critical section; it gets the guard (to read <see cref="MutexGuard.WasPoisoned"/>).</param>
    /// <returns>A task completing when the body completed and the lock was released.</returns>
    /// <example><code>await mutex.WithLockAsync(cx, async g => { if (g.WasPoisoned) Repair(); Update(); g.ClearPoison(); });</code></example>
    public async Task WithLockAsync(Cx cx, Func<MutexGuard, Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var guard = await LockAsync(cx);
        try
        {
            await body(guard);
        }
        catch (Exception ex) when (IsPoisoning && Poisoning.IsPanic(ex, cx))
        {
            _poisoned = true;
            throw;
        }
        finally
        {
            guard.Dispose();
        }
    }

    /// <summary>True while some guard holds the lock (a snapshot).</summary>
    public bool IsLocked
    {
        get { lock (_gate) return _held; }
    }

    /// <summary>How many tasks are waiting for the lock (a snapshot, for diagnostics).</summary>
    public int WaitingCount
    {
        get { lock (_gate) return _waiters.Count; }
    }

    /// <summary>
    /// Takes the lock, waiting in FIFO order if it is held. A checkpoint; cancel-safe (see the remarks of
    /// <see cref="AsyncMutex"/>).
    /// </summary>
    /// <param name="cx">The waiting task's context.</param>
    /// <returns>The guard; dispose it to release the lock.</returns>
    /// <exception cref="CancelledException">The task was cancelled before or while waiting; the lock was not taken.</exception>
    /// <example><code>using var guard = await mutex.LockAsync(cx);</code></example>
    public ValueTask<MutexGuard> LockAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        var task = cx.Task;
        if (ChoicePoint.IsActive(task)) return ChoicePoint.BeforeAsync(task, (this, task), static s => s.Item1.LockCore(s.task));
        return LockCore(task);
    }

    private ValueTask<MutexGuard> LockCore(TaskCore task)
    {
        task.Checkpoint();
        PrimitiveWait<MutexGuard> w;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(task, ref _id, "mutex");
            if (!_held)
            {
                _held = true;
                _holder = task;
                return new ValueTask<MutexGuard>(new MutexGuard(this, _poisoned));
            }
            w = new PrimitiveWait<MutexGuard>(task, this);
            _waiters.Enqueue(w);
        }
        PrimitiveSupport.Park(w, "mutex", _id);
        return w.AsValueTask();
    }

    /// <summary>Takes the lock if it is free and nobody is queued for it; never waits.</summary>
    /// <param name="guard">The guard when the lock was taken.</param>
    /// <returns>True when the lock was taken.</returns>
    public bool TryLock([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MutexGuard? guard)
    {
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "mutex");
            if (_held)
            {
                guard = null;
                return false;
            }
            _held = true;
            _holder = TaskCore.Current;
        }
        guard = new MutexGuard(this, _poisoned);
        return true;
    }

    internal void Release()
    {
        PrimitiveWait<MutexGuard>? next;
        lock (_gate)
        {
            AssertInvariants();
            Debug.Assert(_held, "release of a mutex that is not held");
            PrimitiveSupport.Touch(null, ref _id, "mutex");
            next = HandOffLocked();
        }
        next?.Deliver();
    }

    /// <summary>Passes the lock to the oldest waiter (it stays held) or frees it.</summary>
    private PrimitiveWait<MutexGuard>? HandOffLocked()
    {
        var next = _waiters.Dequeue();
        if (next is null) _held = false;
        else next.Grant(new MutexGuard(this, _poisoned));
        _holder = next?.Task;
        return next;
    }

    bool IWaitForResource.AddHolders(object wait, List<TaskCore> into, out string resource)
    {
        resource = WaitForGraph.Name("mutex", _id, this);
        lock (_gate)
        {
            if (!((PrimitiveWait<MutexGuard>)wait).Queued || _holder is null) return false;
            into.Add(_holder);
            return true;
        }
    }

    void IWaitOwner<MutexGuard>.OnWaitInterrupted(PrimitiveWait<MutexGuard> wait)
    {
        PrimitiveSupport.Touch(null, ref _id, "mutex");
        PrimitiveWait<MutexGuard>? next = null;
        lock (_gate)
        {
            if (wait.Granted)
            {
                // The lock was handed to this waiter in the same instant it was cancelled: it never resumes
                // with the guard, so pass the lock on instead of losing it.
                wait.Value.MarkReleased();
                next = HandOffLocked();
            }
            else
            {
                _waiters.Remove(wait);
            }
            AssertInvariants();
        }
        next?.Deliver();
    }

    private void AssertInvariants()
    {
        PrimitiveSupport.Invariant(_held || _waiters.IsEmpty, ref _id, "LostWakeup", "waiters queue only behind a held lock");
    }
}

/// <summary>Holds a <see cref="AsyncMutex"/>; disposing it releases the lock. Disposing twice is harmless.</summary>
public sealed class MutexGuard : IDisposable, IAsyncDisposable
{
    private AsyncMutex? _mutex;

    private readonly AsyncMutex _owner;

    internal MutexGuard(AsyncMutex mutex, bool poisoned)
    {
        _mutex = _owner = mutex;
        WasPoisoned = poisoned;
    }

    /// <summary>True until the guard is disposed.</summary>
    public bool IsHeld => Volatile.Read(ref _mutex) is not null;

    /// <summary>True when the (poisoning) mutex was poisoned at the moment this guard took it: the protected state may be broken.</summary>
    public bool WasPoisoned { get; }

    /// <summary>Marks the mutex poisoned (the holder found or left the state broken). Only on a poisoning mutex.</summary>
    /// <exception cref="InvalidOperationException">The mutex was created without poisoning.</exception>
    public void Poison() => _owner.SetPoisoned(true);

    /// <summary>Clears the poison (the holder checked or repaired the state). Only on a poisoning mutex.</summary>
    /// <exception cref="InvalidOperationException">The mutex was created without poisoning.</exception>
    public void ClearPoison() => _owner.SetPoisoned(false);

    /// <summary>Releases the lock (handing it to the oldest waiter, if any). Idempotent.</summary>
    public void Dispose() => Interlocked.Exchange(ref _mutex, null)?.Release();

    /// <summary>
    /// Releases like <see cref="Dispose"/> (for <c>await using</c>). Under the Lab this is a choice point before
    /// the release, so other tasks can run between the critical section's last statement and the release, as
    /// they can in production; elsewhere it completes synchronously.
    /// </summary>
    /// <returns>A task completing once released.</returns>
    public ValueTask DisposeAsync()
    {
        if (ChoicePoint.IsActiveHere(out var task)) return ChoicePoint.BeforeAsync(task, this, static g => g.Dispose());
        Dispose();
        return default;
    }

    internal void MarkReleased() => Volatile.Write(ref _mutex, null);
}
