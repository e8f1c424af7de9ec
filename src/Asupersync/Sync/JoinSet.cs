using Asupersync.Kernel;

namespace Asupersync.Sync;

/// <summary>A task that a <see cref="JoinSet{T}"/> handed back: which task it was and how it ended.</summary>
/// <typeparam name="T">The tasks' result.</typeparam>
/// <param name="TaskId">The task's id.</param>
/// <param name="Name">The task's name.</param>
/// <param name="Outcome">Its outcome (Ok, Err, Cancelled or Panicked — never thrown).</param>
public readonly record struct TaskCompletion<T>(long TaskId, string Name, Outcome<T> Outcome);

/// <summary>
/// A dynamic set of tasks spawned into the owner's region, handed back in the order they complete (Tokio's
/// <c>JoinSet</c>, a Trio nursery read through a channel, <see cref="Task.WhenEach(Task[])"/> with structure).
/// </summary>
/// <remarks>
/// <para><b>Ownership.</b> The set belongs to the task whose Cx created it: only that task spawns into it and
/// disposes it. The tasks are ordinary tasks of that task's region, so the region still owns them — dropping
/// the set never orphans one, and the region does not close before they end.</para>
/// <para><b>Order.</b> <see cref="NextCompletedAsync"/> returns tasks in the order they completed (their outcome
/// final, obligations settled), each exactly once, and <c>null</c> once every spawned task was returned.</para>
/// <para><b>Cancel-safety.</b> A cancel while <see cref="NextCompletedAsync"/> waits takes nothing: a completion
/// handed over in that very instant goes back to the front of the set, for the next call.</para>
/// <para><b>Disposal</b> cancels every task still running (reason <see cref="CancelKind.User"/>), waits for all of
/// them — masked, so a pending cancel of the owner does not cut the drain short, yet bounded by the owner's
/// cleanup budget — and drops the completions nobody read. Idempotent.</para>
/// </remarks>
/// <example>
/// <code>
/// await using var set = new JoinSet&lt;int&gt;(cx);
/// foreach (var url in urls) set.Spawn(url, cx =&gt; FetchLengthAsync(cx, url));
/// while (await set.NextCompletedAsync(cx) is { } done)
///     Console.WriteLine($"{done.Name}: {done.Outcome}");
/// </code>
/// </example>
public sealed class JoinSet<T> : IAsyncDisposable, IWaitOwner<TaskCompletion<T>>, ICompletionListener<T>
{
    private readonly Cx _owner;
    private readonly Lock _gate = new();
    private readonly Channels.Deque<TaskCompletion<T>> _ready = new();
    private readonly WaitQueue<TaskCompletion<T>> _waiters = new();
    private readonly HashSet<TaskCore<T>> _running = new(ReferenceEqualityComparer.Instance);
    private int _inflight;
    private bool _disposed;
    private long _id;

    /// <summary>Creates an empty set owned by <paramref name="cx"/>'s task; its tasks join that task's region.</summary>
    /// <param name="cx">The owner's context (it needs <see cref="Capabilities.Spawn"/> to spawn).</param>
    public JoinSet(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        _owner = cx;
    }

    /// <summary>Tasks spawned and not yet handed back by <see cref="NextCompletedAsync"/> (running or completed).</summary>
    public int Count
    {
        get { lock (_gate) return _running.Count + _ready.Count + _inflight; }
    }

    /// <summary>Tasks of the set still running (a snapshot).</summary>
    public int RunningCount
    {
        get { lock (_gate) return _running.Count; }
    }

    /// <summary>Spawns a task into the owner's region and adds it to the set. Only the owner task may call it.</summary>
    /// <param name="name">A name for diagnostics, traces and the <see cref="TaskCompletion{T}"/>.</param>
    /// <param name="body">The task body; it receives its own Cx.</param>
    /// <param name="budget">The task's budget, met with the region's.</param>
    /// <returns>A handle to the task (to cancel it alone, or join it directly).</returns>
    /// <exception cref="ObjectDisposedException">The set was disposed.</exception>
    /// <exception cref="RegionClosedException">The owner's region no longer admits tasks.</exception>
    public TaskHandle<T> Spawn(string name, Func<Cx, Task<T>> body, Budget budget = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(body);
        lock (_gate) ObjectDisposedException.ThrowIf(_disposed, this);
        var handle = _owner.Spawn(name, body, budget); // checks the owner's step and capability
        var core = handle.Core;
        PrimitiveSupport.Touch(_owner.Task, ref _id, "joinset");
        lock (_gate) _running.Add(core);
        if (!core.TryAddListener(this)) OnTaskCompleted(core, core.Outcome); // it already finished
        return handle;
    }

    /// <summary>
    /// Waits for the next task of the set to complete and returns it, or <c>null</c> when no task is left to hand
    /// back. A checkpoint; cancel-safe (a cancel while waiting takes no completion).
    /// </summary>
    /// <param name="cx">The waiting task's context (usually the owner's).</param>
    /// <returns>The completed task and its outcome, or null when the set is empty.</returns>
    /// <exception cref="CancelledException">The waiting task was cancelled before or while waiting; nothing was taken.</exception>
    public ValueTask<TaskCompletion<T>?> NextCompletedAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        var task = cx.Task;
        // A Lab choice point even when a completion is ready and nothing suspends: production can run another
        // consumer (or a completing task) between two takes.
        if (ChoicePoint.IsActive(task)) return ChoicePoint.BeforeAsync(task, (this, task), static s => s.Item1.NextCompletedCore(s.task));
        return NextCompletedCore(task);
    }

    private ValueTask<TaskCompletion<T>?> NextCompletedCore(TaskCore task)
    {
        task.EnsureOwnStep();
        task.Checkpoint();
        PrimitiveWait<TaskCompletion<T>> w;
        lock (_gate)
        {
            PrimitiveSupport.Touch(task, ref _id, "joinset");
            if (_ready.Count > 0) return new ValueTask<TaskCompletion<T>?>(_ready.PopFront());
            if (_running.Count == 0 && _inflight == 0) return new ValueTask<TaskCompletion<T>?>((TaskCompletion<T>?)null);
            w = new PrimitiveWait<TaskCompletion<T>>(task, this);
            _waiters.Enqueue(w);
        }
        PrimitiveSupport.Park(w, "joinset", _id);
        return Slow(w);

        static async ValueTask<TaskCompletion<T>?> Slow(PrimitiveWait<TaskCompletion<T>> w)
        {
            var c = await w.AsValueTask();
            // An empty set wakes its waiters with a completion whose name is null.
            return c.Name is null ? null : c;
        }
    }

    /// <summary>Takes the next completed task if one is ready; never waits.</summary>
    /// <param name="completion">The completed task.</param>
    /// <returns>True when one was taken.</returns>
    public bool TryNextCompleted(out TaskCompletion<T> completion)
    {
        lock (_gate)
        {
            PrimitiveSupport.Touch(null, ref _id, "joinset");
            if (_ready.Count == 0)
            {
                completion = default;
                return false;
            }
            completion = _ready.PopFront();
            return true;
        }
    }

    /// <summary>Requests a cancel (reason <see cref="CancelKind.User"/>) of every task of the set still running. They still complete, and are handed back, as usual.</summary>
    /// <param name="budget">The cleanup budget for each task.</param>
    /// <param name="message">Why, for diagnostics.</param>
    public void CancelAll(Budget budget = default, string? message = null)
    {
        TaskCore<T>[] running;
        lock (_gate)
        {
            PrimitiveSupport.Touch(null, ref _id, "joinset");
            running = [.. _running];
        }
        var reason = new CancelReason(CancelKind.User, message ?? "join set cancelled", _owner.Task.Runtime.Now, _owner.RegionId, TaskCore.Current?.Id ?? 0);
        foreach (var t in running) t.RequestCancel(reason, budget);
    }

    /// <summary>
    /// Cancels every task still running, waits until all of them completed (masked, bounded by the owner's cleanup
    /// budget) and drops the completions nobody read. Only the owner task may call it. Idempotent.
    /// </summary>
    /// <returns>A task completing when the set is empty.</returns>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed && _running.Count == 0) return;
            _disposed = true;
        }
        CancelAll(default, "join set disposed");
        using (_owner.Mask())
        {
            while (await NextCompletedAsync(_owner) is not null) { }
        }
    }

    void ICompletionListener<T>.OnTaskCompleted(TaskCore<T> task, Outcome<T> outcome) => OnTaskCompleted(task, outcome);

    private void OnTaskCompleted(TaskCore<T> task, Outcome<T> outcome)
    {
        var c = new TaskCompletion<T>(task.Id, task.Name, outcome);
        PrimitiveWait<TaskCompletion<T>>? grant = null;
        List<PrimitiveWait<TaskCompletion<T>>>? empty = null;
        lock (_gate)
        {
            PrimitiveSupport.Touch(null, ref _id, "joinset");
            if (!_running.Remove(task)) return; // reported twice (cannot happen: listeners run once)
            Hand(c, ref grant);
            if (grant is null) empty = WakeIfEmptyLocked();
        }
        Deliver(grant, empty);
    }

    /// <summary>Gives a completion to the oldest waiter, else queues it (at the front when it came back). Caller holds the lock.</summary>
    private void Hand(TaskCompletion<T> c, ref PrimitiveWait<TaskCompletion<T>>? grant, bool front = false)
    {
        if (_waiters.Dequeue() is { } w)
        {
            w.Grant(c);
            _inflight++;
            grant = w;
        }
        else if (front)
        {
            _ready.PushFront(c);
        }
        else
        {
            _ready.PushBack(c);
        }
    }

    /// <summary>With nothing running, ready or in flight, the waiters learn that the set is empty. Caller holds the lock.</summary>
    private List<PrimitiveWait<TaskCompletion<T>>>? WakeIfEmptyLocked()
    {
        if (_running.Count > 0 || _ready.Count > 0 || _inflight > 0 || _waiters.IsEmpty) return null;
        var all = _waiters.DrainAll();
        foreach (var w in all) w.Grant(default);
        return all;
    }

    private void Deliver(PrimitiveWait<TaskCompletion<T>>? grant, List<PrimitiveWait<TaskCompletion<T>>>? empty)
    {
        if (empty is not null)
        {
            foreach (var w in empty) w.Deliver(); // an interrupted one had nothing to give back
        }
        while (grant is not null && grant.Deliver())
        {
            // Taken: no longer in flight; the set may now be empty for the waiters behind.
            lock (_gate)
            {
                _inflight--;
                empty = WakeIfEmptyLocked();
            }
            grant = null;
            if (empty is not null) foreach (var w in empty) w.Deliver();
        }
    }

    void IWaitOwner<TaskCompletion<T>>.OnWaitInterrupted(PrimitiveWait<TaskCompletion<T>> wait)
    {
        PrimitiveSupport.Touch(null, ref _id, "joinset");
        PrimitiveWait<TaskCompletion<T>>? grant = null;
        List<PrimitiveWait<TaskCompletion<T>>>? empty = null;
        lock (_gate)
        {
            if (wait.Granted)
            {
                if (wait.Value.Name is not null)
                {
                    // Handed over in the instant of the cancel: it goes back first, to the next waiter or the queue.
                    _inflight--;
                    var c = wait.Value;
                    wait.Value = default;
                    Hand(c, ref grant, front: true);
                }
            }
            else
            {
                _waiters.Remove(wait);
            }
            if (grant is null) empty = WakeIfEmptyLocked();
        }
        Deliver(grant, empty);
    }
}
