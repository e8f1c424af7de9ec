using Asupersync.Kernel;
using System.Diagnostics;

namespace Asupersync.Sync;

/// <summary>
/// Wakes waiting tasks: <see cref="NotifyOne"/> wakes the oldest waiter (or, if none waits, leaves a single
/// stored permit for the next <see cref="WaitAsync"/>), <see cref="NotifyAll"/> wakes every current waiter.
/// </summary>
/// <remarks>
/// <para><b>No lost notification.</b> A <see cref="NotifyOne"/> with nobody waiting is remembered (at most one
/// permit; further calls do not accumulate), so the classic "check the condition, then wait" race cannot lose a
/// wake-up as long as the producer calls <see cref="NotifyOne"/> after changing the state. <see cref="NotifyAll"/>
/// only affects tasks already waiting and stores nothing.</para>
/// <para><b>Cancel-safety.</b> A cancelled wait consumes nothing. A <see cref="NotifyOne"/> handed to a waiter in
/// the instant it was cancelled goes to the next waiter, or becomes the stored permit again.</para>
/// </remarks>
/// <example>
/// <code>
/// // consumer
/// while (!queue.TryDequeue(out var job)) await notify.WaitAsync(cx);
/// // producer
/// queue.Enqueue(job);
/// notify.NotifyOne();
/// </code>
/// </example>
public sealed class Notify : IWaitOwner<Unit>
{
    private readonly Lock _gate = new();
    private readonly WaitQueue<Unit> _waiters = new();
    private bool _permit;
    private long _id;

    /// <summary>Creates a notify with no stored permit.</summary>
    public Notify() { }

    /// <summary>Tasks waiting right now (a snapshot).</summary>
    public int WaitingCount
    {
        get { lock (_gate) return _waiters.Count; }
    }

    /// <summary>Waits for a notification (returns at once, consuming it, if a permit is stored). A checkpoint; cancel-safe.</summary>
    /// <param name="cx">The waiting task's context.</param>
    /// <returns>A task completing when notified.</returns>
    public ValueTask WaitAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        var task = cx.Task;
        if (ChoicePoint.IsActive(task)) return ChoicePoint.BeforeAsync(task, (this, task), static s => s.Item1.WaitCore(s.task));
        return WaitCore(task);
    }

    private ValueTask WaitCore(TaskCore task)
    {
        task.Checkpoint();
        PrimitiveWait<Unit> w;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(task, ref _id, "notify");
            if (_permit)
            {
                _permit = false;
                return ValueTask.CompletedTask;
            }
            w = new PrimitiveWait<Unit>(task, this);
            _waiters.Enqueue(w);
        }
        PrimitiveSupport.Park(w, "notify", _id);
        return w.AsUntypedValueTask();
    }

    /// <summary>Wakes the oldest waiter, or stores one permit if nobody waits.</summary>
    public void NotifyOne()
    {
        PrimitiveWait<Unit>? w;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "notify");
            w = GiveOneLocked();
        }
        w?.Deliver();
    }

    /// <summary>Wakes every task waiting now. Stores nothing for later waiters.</summary>
    public void NotifyAll()
    {
        List<PrimitiveWait<Unit>> all;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "notify");
            all = _waiters.DrainAll();
            foreach (var w in all) w.Grant(default);
        }
        // A waiter cancelled in this instant simply misses the broadcast: NotifyAll stores nothing to pass on.
        foreach (var w in all) w.Deliver();
    }

    private PrimitiveWait<Unit>? GiveOneLocked()
    {
        var w = _waiters.Dequeue();
        if (w is null)
        {
            _permit = true;
        }
        else
        {
            w.Request = 1; // marks a NotifyOne grant: it must be passed on if this waiter is cancelled
            w.Grant(default);
        }
        return w;
    }

    void IWaitOwner<Unit>.OnWaitInterrupted(PrimitiveWait<Unit> wait)
    {
        PrimitiveSupport.Touch(null, ref _id, "notify");
        PrimitiveWait<Unit>? next = null;
        lock (_gate)
        {
            // A NotifyOne that reached this waiter as it was cancelled is passed on; a NotifyAll grant is not
            // (every other waiter of that broadcast was woken too, and NotifyAll stores nothing).
            if (wait.Granted)
            {
                if (wait.Request == 1) next = GiveOneLocked();
            }
            else _waiters.Remove(wait);
            AssertInvariants();
        }
        next?.Deliver();
    }

    private void AssertInvariants() => PrimitiveSupport.Invariant(!_permit || _waiters.IsEmpty, ref _id, "LostWakeup", "a stored permit and waiters never coexist");
}
