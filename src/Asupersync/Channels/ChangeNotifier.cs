using System.Diagnostics;
using Asupersync.Kernel;
using Asupersync.Sync;

namespace Asupersync.Channels;

/// <summary>
/// The shared core of channels whose receivers wait for "something changed since my mark" (broadcast: a new
/// value past my position; watch: a new version): one lock, a queue of waiters woken all at once on every
/// change and on close, and the closed state.
/// </summary>
/// <remarks>
/// A wake-up is only a hint to re-read the state, so a receiver cancelled in the instant it is woken has nothing
/// to hand on: interrupting a wait just leaves the queue.
/// </remarks>
internal abstract class ChangeNotifier : IWaitOwner<Unit>
{
    protected readonly Lock Gate = new();
    private readonly WaitQueue<Unit> _waiters = new();
    private readonly string _kind;
    private long _id;

    protected ChangeNotifier(string kind) => _kind = kind;

    /// <summary>Whether the channel was closed (guarded by <see cref="Gate"/>).</summary>
    protected bool Closed { get; private set; }

    /// <summary>The error the channel was closed with (guarded by <see cref="Gate"/>).</summary>
    protected Exception? Error { get; private set; }

    /// <summary>With the lock held: whether the state changed since <paramref name="mark"/> (a position or a version).</summary>
    protected abstract bool ChangedSinceLocked(long mark);

    /// <summary>Reports an access to the Lab's dependency tracking.</summary>
    protected void Touch(TaskCore? task) => PrimitiveSupport.Touch(task, ref _id, _kind);

    /// <summary>The exception for an operation on a closed channel.</summary>
    protected ChannelClosedException ClosedException() => new($"The {_kind} channel is closed", Error);

    /// <summary>With the lock held: takes every waiter, granted, for <see cref="Wake"/> to deliver after the lock.</summary>
    protected List<PrimitiveWait<Unit>> TakeWaitersLocked()
    {
        var wake = _waiters.DrainAll();
        foreach (var w in wake) w.Grant(default);
        return wake;
    }

    /// <summary>Delivers the wake-ups taken by <see cref="TakeWaitersLocked"/>; call outside the lock.</summary>
    protected static void Wake(List<PrimitiveWait<Unit>> wake)
    {
        foreach (var w in wake) w.Deliver();
    }

    /// <summary>Waits until the state changed since <paramref name="mark"/> or the channel closed. A checkpoint; cancel-safe.</summary>
    internal ValueTask WaitAsync(Cx cx, long mark)
    {
        var task = cx.Task;
        task.Checkpoint();
        PrimitiveWait<Unit> w;
        lock (Gate)
        {
            Touch(task);
            if (ChangedSinceLocked(mark) || Closed) return ValueTask.CompletedTask;
            w = new PrimitiveWait<Unit>(task, this);
            _waiters.Enqueue(w);
        }
        PrimitiveSupport.Park(w, _kind, _id);
        return w.AsUntypedValueTask();
    }

    /// <summary>Closes the channel (idempotent: the first error is kept) and wakes every waiter.</summary>
    internal void Close(Exception? error)
    {
        List<PrimitiveWait<Unit>> wake;
        lock (Gate)
        {
            Touch(null);
            if (Closed) return;
            Closed = true;
            Error = error;
            wake = TakeWaitersLocked();
        }
        Wake(wake);
    }

    void IWaitOwner<Unit>.OnWaitInterrupted(PrimitiveWait<Unit> wait)
    {
        Touch(null);
        lock (Gate) _waiters.Remove(wait);
        Debug.Assert(!wait.Queued);
    }
}
