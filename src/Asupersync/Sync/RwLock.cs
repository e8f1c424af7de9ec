using Asupersync.Kernel;
using System.Diagnostics;

namespace Asupersync.Sync;

/// <summary>
/// An asynchronous reader-writer lock with writer preference: many readers or one writer; once a writer
/// waits, new readers queue behind it, so writers are never starved. Waits are cancel-safe.
/// </summary>
/// <remarks>
/// <para>Waiters are served in arrival order: a writer at the head of the queue waits for the current readers
/// to leave; a run of readers at the head enters together.</para>
/// <para><b>Poisoning</b> (opt in: <c>new RwLock(poisoning: true)</c>, Rust's semantics): a <em>writer</em> ending
/// Panicked inside <see cref="WithWriteAsync"/> (or calling <see cref="RwLockGuard.Poison"/>) marks the lock
/// <see cref="IsPoisoned"/>; later guards, read or write, report <see cref="RwLockGuard.WasPoisoned"/> until a writer
/// calls <see cref="RwLockGuard.ClearPoison"/>. Readers cannot break the state and never poison. See
/// <see cref="AsyncMutex"/> for why a plain <c>using</c> block cannot poison by itself.</para>
/// <para><b>Cancel-safety.</b> A cancelled wait takes nothing. If it was at the head (for example a writer
/// holding back readers), the readers behind it are admitted at once; a grant that raced with the cancel is
/// released again and passed on.</para>
/// </remarks>
/// <example>
/// <code>
/// var rw = new RwLock();
/// using (await rw.ReadAsync(cx)) { Render(config); }
/// using (await rw.WriteAsync(cx)) { config = Reload(); }
/// </code>
/// </example>
public sealed class RwLock : IWaitOwner<RwLockGuard>, IWaitForResource
{
    private const long Reader = 0, Writer = 1;

    private readonly Lock _gate = new();
    private readonly WaitQueue<RwLockGuard> _waiters = new();
    private int _readers;
    private bool _writer;
    private long _id;
    private HolderList<RwLockGuard> _held; // the guards inside, with their holder tasks (for the wait-for graph)

    private volatile bool _poisoned;

    /// <summary>Creates a free lock (without poisoning).</summary>
    public RwLock() { }

    /// <summary>Creates a free lock; with <paramref name="poisoning"/> a writer ending Panicked poisons it (see the remarks).</summary>
    /// <param name="poisoning">Whether the lock tracks poisoning.</param>
    public RwLock(bool poisoning) => IsPoisoning = poisoning;

    /// <summary>True when the lock was created with poisoning.</summary>
    public bool IsPoisoning { get; }

    /// <summary>True when a writer ended Panicked (or called <see cref="RwLockGuard.Poison"/>) since the poison was last cleared.</summary>
    public bool IsPoisoned => _poisoned;

    internal void SetPoisoned(bool poisoned)
    {
        if (!IsPoisoning) throw Poisoning.NotPoisoning("rwlock");
        _poisoned = poisoned;
    }

    /// <summary>
    /// Takes the write lock, runs <paramref name="body"/> holding it, and releases it on every ending. If the body
    /// throws an exception that would end the task Panicked, a poisoning lock is marked poisoned before the release
    /// (the exception propagates unchanged). Cancel-safe like <see cref="WriteAsync"/>.
    /// </summary>
    /// <param name="cx">The task's context.</param>
    /// <param name="body">The critical section; it gets the guard.</param>
    /// <returns>A task completing when the body completed and the lock was released.</returns>
    public async Task WithWriteAsync(Cx cx, Func<RwLockGuard, Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var guard = await WriteAsync(cx);
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

    /// <summary>Readers currently inside (a snapshot).</summary>
    public int ReaderCount
    {
        get { lock (_gate) return _readers; }
    }

    /// <summary>True while a writer holds the lock (a snapshot).</summary>
    public bool IsWriteLocked
    {
        get { lock (_gate) return _writer; }
    }

    /// <summary>Waiting requests (a snapshot).</summary>
    public int WaitingCount
    {
        get { lock (_gate) return _waiters.Count; }
    }

    /// <summary>Takes a shared (read) lock. A checkpoint; cancel-safe.</summary>
    /// <param name="cx">The waiting task's context.</param>
    /// <returns>The guard; dispose it to leave.</returns>
    public ValueTask<RwLockGuard> ReadAsync(Cx cx) => Acquire(cx, Reader);

    /// <summary>Takes the exclusive (write) lock. A checkpoint; cancel-safe.</summary>
    /// <param name="cx">The waiting task's context.</param>
    /// <returns>The guard; dispose it to leave.</returns>
    public ValueTask<RwLockGuard> WriteAsync(Cx cx) => Acquire(cx, Writer);

    private ValueTask<RwLockGuard> Acquire(Cx cx, long mode)
    {
        ArgumentNullException.ThrowIfNull(cx);
        var task = cx.Task;
        if (ChoicePoint.IsActive(task)) return ChoicePoint.BeforeAsync(task, (this, task, mode), static s => s.Item1.AcquireCore(s.task, s.mode));
        return AcquireCore(task, mode);
    }

    private ValueTask<RwLockGuard> AcquireCore(TaskCore task, long mode)
    {
        task.Checkpoint();
        PrimitiveWait<RwLockGuard> w;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(task, ref _id, "rwlock");
            if (_waiters.IsEmpty && CanEnter(mode))
            {
                Enter(mode);
                return new ValueTask<RwLockGuard>(HandOutLocked(mode, task));
            }
            w = new PrimitiveWait<RwLockGuard>(task, this) { Request = mode };
            _waiters.Enqueue(w);
        }
        PrimitiveSupport.Park(w, "rwlock", _id);
        return w.AsValueTask();
    }

    /// <summary>Takes a read lock if no writer holds or waits; never waits.</summary>
    /// <param name="guard">The guard.</param>
    /// <returns>True when taken.</returns>
    public bool TryRead([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RwLockGuard? guard) => TryAcquire(Reader, out guard);

    /// <summary>Takes the write lock if it is completely free and nobody waits; never waits.</summary>
    /// <param name="guard">The guard.</param>
    /// <returns>True when taken.</returns>
    public bool TryWrite([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RwLockGuard? guard) => TryAcquire(Writer, out guard);

    private bool TryAcquire(long mode, out RwLockGuard? guard)
    {
        lock (_gate)
        {
            PrimitiveSupport.Touch(null, ref _id, "rwlock");
            if (!_waiters.IsEmpty || !CanEnter(mode))
            {
                guard = null;
                return false;
            }
            Enter(mode);
            guard = HandOutLocked(mode, TaskCore.Current);
        }
        return true;
    }

    /// <summary>A guard held by <paramref name="holder"/> (null: not a task), linked into the holder list (under the lock).</summary>
    private RwLockGuard HandOutLocked(long mode, TaskCore? holder) => _held.Add(new RwLockGuard(this, mode == Writer, holder, _poisoned));

    // A waiter waits on every holder inside and on the waiter just ahead of it (served first; it leaving can let this
    // one in; it waits in turn on the one ahead). Unknown when a guard was taken outside a task or there are more
    // holders than the graph follows.
    bool IWaitForResource.AddHolders(object wait, List<TaskCore> into, out string resource)
    {
        resource = WaitForGraph.Name("rwlock", _id, this);
        lock (_gate)
        {
            var w = (PrimitiveWait<RwLockGuard>)wait;
            if (!w.Queued) return false;
            if (!_held.AddHolders(into)) return false;
            if (w.Prev is { } ahead) into.Add(ahead.Task);
            return true;
        }
    }

    private bool CanEnter(long mode) => mode == Writer ? !_writer && _readers == 0 : !_writer;

    private void Enter(long mode)
    {
        if (mode == Writer) _writer = true;
        else _readers++;
    }

    internal void Release(RwLockGuard guard)
    {
        List<PrimitiveWait<RwLockGuard>>? granted;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "rwlock");
            _held.Remove(guard);
            Leave(guard.IsWrite);
            granted = GrantLocked();
        }
        Deliver(granted);
    }

    private void Leave(bool writer)
    {
        if (writer)
        {
            Debug.Assert(_writer);
            _writer = false;
        }
        else
        {
            Debug.Assert(_readers > 0);
            _readers--;
        }
    }

    /// <summary>Admits from the head: one writer, or the run of readers up to the next writer.</summary>
    private List<PrimitiveWait<RwLockGuard>>? GrantLocked()
    {
        List<PrimitiveWait<RwLockGuard>>? granted = null;
        while (_waiters.Peek() is { } head && CanEnter(head.Request))
        {
            _waiters.Dequeue();
            Enter(head.Request);
            head.Grant(HandOutLocked(head.Request, head.Task));
            (granted ??= new List<PrimitiveWait<RwLockGuard>>()).Add(head);
            if (head.Request == Writer) break;
        }
        return granted;
    }

    private static void Deliver(List<PrimitiveWait<RwLockGuard>>? granted)
    {
        if (granted is null) return;
        foreach (var w in granted) w.Deliver();
    }

    void IWaitOwner<RwLockGuard>.OnWaitInterrupted(PrimitiveWait<RwLockGuard> wait)
    {
        PrimitiveSupport.Touch(null, ref _id, "rwlock");
        List<PrimitiveWait<RwLockGuard>>? granted;
        lock (_gate)
        {
            if (wait.Granted)
            {
                wait.Value.MarkReleased();
                _held.Remove(wait.Value);
                Leave(wait.Request == Writer);
            }
            else
            {
                _waiters.Remove(wait);
            }
            // A writer leaving the head of the queue may let the readers behind it in.
            granted = GrantLocked();
            AssertInvariants();
        }
        Deliver(granted);
    }

    private void AssertInvariants()
    {
        PrimitiveSupport.Invariant(!(_writer && _readers > 0), ref _id, "PrimitiveViolation", "a writer excludes readers");
        PrimitiveSupport.Invariant(_waiters.Peek() is not { } h || !CanEnter(h.Request), ref _id, "LostWakeup", "the head waiter is admitted as soon as it can enter");
    }
}

/// <summary>A read or write hold on an <see cref="RwLock"/>; disposing it leaves the lock. Idempotent.</summary>
public sealed class RwLockGuard : IDisposable, IAsyncDisposable, IHeld<RwLockGuard>
{
    private RwLock? _lock;

    private readonly RwLock _owner;

    internal RwLockGuard(RwLock rwLock, bool isWrite, TaskCore? holder, bool poisoned)
    {
        _lock = _owner = rwLock;
        IsWrite = isWrite;
        Holder = holder;
        WasPoisoned = poisoned;
    }

    /// <summary>True when the (poisoning) lock was poisoned at the moment this guard took it: the protected state may be broken.</summary>
    public bool WasPoisoned { get; }

    /// <summary>Marks the lock poisoned (a writer found or left the state broken). Write guards of a poisoning lock only.</summary>
    /// <exception cref="InvalidOperationException">A read guard, or the lock was created without poisoning.</exception>
    public void Poison() => SetPoison(true);

    /// <summary>Clears the poison (a writer checked or repaired the state). Write guards of a poisoning lock only.</summary>
    /// <exception cref="InvalidOperationException">A read guard, or the lock was created without poisoning.</exception>
    public void ClearPoison() => SetPoison(false);

    private void SetPoison(bool poisoned)
    {
        if (!IsWrite) throw new InvalidOperationException("only a writer may poison or clear an RwLock");
        _owner.SetPoisoned(poisoned);
    }

    /// <summary>True for the exclusive (write) lock.</summary>
    public bool IsWrite { get; }

    // The wait-for graph's holder list, guarded by the lock's gate.
    TaskCore? IHeld<RwLockGuard>.Holder => Holder;

    RwLockGuard? IHeld<RwLockGuard>.PrevHeld { get; set; }

    RwLockGuard? IHeld<RwLockGuard>.NextHeld { get; set; }

    internal TaskCore? Holder { get; }

    /// <summary>Leaves the lock. Idempotent.</summary>
    public void Dispose() => Interlocked.Exchange(ref _lock, null)?.Release(this);

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

    internal void MarkReleased() => Volatile.Write(ref _lock, null);
}
