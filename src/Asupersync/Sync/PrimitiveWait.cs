using Asupersync.Kernel;

namespace Asupersync.Sync;

/// <summary>The primitive that owns a <see cref="PrimitiveWait{T}"/>: told when the wait is interrupted.</summary>
internal interface IWaitOwner<T>
{
    /// <summary>
    /// Called (outside the owner's lock, on the interrupting thread) when a cancel interrupted the wait. The owner
    /// takes its lock and either unlinks a still-queued wait or, when the wait was already granted its effect
    /// (<see cref="PrimitiveWait{T}.Granted"/>), gives that effect back — to the next waiter or to the primitive.
    /// </summary>
    void OnWaitInterrupted(PrimitiveWait<T> wait);
}

/// <summary>
/// A cancel-safe wait in a primitive's FIFO queue (a channel, a lock, a semaphore…).
/// </summary>
/// <remarks>
/// <para>The hand-off protocol, shared by every primitive in this library:</para>
/// <list type="number">
/// <item>Under the owner's lock, the granter unlinks the wait, sets <see cref="Granted"/> and stores the effect
/// in <see cref="Value"/> (an item, a lock, permits).</item>
/// <item>After releasing the lock, it calls <see cref="WaitOp{T}.TrySetResult"/>.</item>
/// </list>
/// <para>The kernel's status CAS guarantees that exactly one of two things happens: the result is set (the waiter
/// resumes with the effect and keeps it, even if a cancel arrives later — the cancel is seen at its next
/// checkpoint), or the wait is interrupted, in which case <see cref="WaitOp{T}.OnInterrupted"/> runs
/// <em>before</em> the waiter can resume. The owner's interrupt handler therefore always finds out, under its
/// lock, whether the wait had been granted, and hands a granted effect on. A failed
/// <see cref="WaitOp{T}.TrySetResult"/> needs no handling by the granter: the interrupt handler owns the effect.
/// This is why a cancel can never lose an item, steal a slot or swallow a wake-up meant for the next waiter.</para>
/// </remarks>
internal sealed class PrimitiveWait<T> : WaitOp<T>, IWaitForEdge
{
    private readonly IWaitOwner<T> _owner;

    // All of the following are guarded by the owner's lock.
    internal PrimitiveWait<T>? Prev, Next;
    internal bool Queued;
    internal bool Granted;
    internal T Value = default!;

    /// <summary>Free-form request data (permits wanted, a reader/writer flag…), set before queueing.</summary>
    internal long Request;

    internal PrimitiveWait(TaskCore waiter, IWaitOwner<T> owner) : base(waiter) => _owner = owner;

    internal TaskCore Task => Waiter;

    protected override void OnInterrupted() => _owner.OnWaitInterrupted(this);

    bool IWaitForEdge.AddTargets(List<TaskCore> into, out string resource) => WaitForGraph.PrimitiveTargets(this, _owner, into, out resource);

    /// <summary>Marks the wait granted with <paramref name="value"/>; call under the owner's lock, after unlinking it.</summary>
    internal void Grant(T value)
    {
        System.Diagnostics.Debug.Assert(!Queued && !Granted, "a wait is granted once, after it left its queue");
        Granted = true;
        Value = value;
    }

    /// <summary>Delivers the grant; call outside the owner's lock. False when an interrupt won (it then owns the effect).</summary>
    internal bool Deliver()
    {
        PrimitiveSupport.BeforeDeliver?.Invoke(Task);
        return TrySetResult(Value);
    }
}

/// <summary>An intrusive FIFO of <see cref="PrimitiveWait{T}"/>; every member is called under the owner's lock.</summary>
internal sealed class WaitQueue<T>
{
    private PrimitiveWait<T>? _head, _tail;

    internal int Count { get; private set; }

    internal bool IsEmpty => _head is null;

    internal PrimitiveWait<T>? Peek() => _head;

    internal void Enqueue(PrimitiveWait<T> w)
    {
        System.Diagnostics.Debug.Assert(!w.Queued && !w.Granted);
        w.Queued = true;
        w.Prev = _tail;
        w.Next = null;
        if (_tail is null) _head = w;
        else _tail.Next = w;
        _tail = w;
        Count++;
    }

    internal PrimitiveWait<T>? Dequeue()
    {
        var w = _head;
        if (w is not null) Remove(w);
        return w;
    }

    /// <summary>Unlinks <paramref name="w"/> if it is queued; returns whether it was.</summary>
    internal bool Remove(PrimitiveWait<T> w)
    {
        if (!w.Queued) return false;
        if (w.Prev is null) _head = w.Next;
        else w.Prev.Next = w.Next;
        if (w.Next is null) _tail = w.Prev;
        else w.Next.Prev = w.Prev;
        w.Prev = w.Next = null;
        w.Queued = false;
        Count--;
        return true;
    }

    /// <summary>Unlinks every wait (for close/fail-all) and returns them in FIFO order.</summary>
    internal List<PrimitiveWait<T>> DrainAll()
    {
        var list = new List<PrimitiveWait<T>>(Count);
        while (Dequeue() is { } w) list.Add(w);
        return list;
    }
}

/// <summary>Helpers shared by the primitives: observer access reports and the wait bookkeeping.</summary>
internal static class PrimitiveSupport
{
    /// <summary>
    /// Test seam: runs on the granting thread between a grant and its delivery, to land a cancel in exactly the
    /// window the hand-off protocol exists for. Thread-static, so it only affects the thread that set it.
    /// </summary>
    [ThreadStatic] internal static Action<TaskCore>? BeforeDeliver;

    /// <summary>
    /// Reports that the running step touched a primitive (for the Lab's dependency analysis). The object id is
    /// assigned lazily from the runtime's id sequence the first time an observer is present, so production
    /// (no observer) pays one null check.
    /// </summary>
    internal static void Touch(TaskCore? task, ref long id, string kind)
    {
        var observer = (task ?? TaskCore.Current)?.Runtime.Observer;
        if (observer is null) return;
        if (Volatile.Read(ref id) == 0) Interlocked.CompareExchange(ref id, (task ?? TaskCore.Current)!.Runtime.NextId(), 0);
        observer.OnAccess(id, kind);
    }

    /// <summary>
    /// Checks one of a primitive's invariants. A violation is reported to the observer as
    /// <c>"oracle:&lt;oracle&gt;:&lt;message&gt;"</c> (the Lab's ChannelAtomicity, LostWakeup, LoserDrain… oracles then
    /// fail the run with its seed); without an observer it fails a debug assertion.
    /// </summary>
    internal static void Invariant(bool holds, ref long id, string oracle, string message)
    {
        if (holds) return;
        var task = TaskCore.Current;
        var observer = task?.Runtime.Observer;
        if (observer is not null)
        {
            if (Volatile.Read(ref id) == 0) Interlocked.CompareExchange(ref id, task!.Runtime.NextId(), 0);
            observer.OnAccess(id, "oracle:" + oracle + ":" + message);
            return;
        }
        System.Diagnostics.Debug.Fail(oracle + ": " + message);
    }

    /// <summary>Announces a wait to the observer and registers it with the cancel protocol (call outside any lock).</summary>
    internal static void Park<T>(PrimitiveWait<T> w, string kind, long id)
    {
        w.Task.Runtime.Observer?.OnWait(w.Task, kind, id);
        w.Register();
        WaitForGraph.OnParked(w.Task);
    }

    /// <summary>Fails every wait in <paramref name="waits"/> with <paramref name="error"/> (call outside any lock).</summary>
    internal static void FailAll<T>(List<PrimitiveWait<T>>? waits, Func<Exception> error)
    {
        if (waits is null) return;
        foreach (var w in waits) w.TrySetException(error());
    }
}
