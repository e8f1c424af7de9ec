namespace Asupersync.Kernel;

/// <summary>
/// Told once when a task completes, on the completing thread, after its joiners were released and before its
/// region hears of it. Must be quick, must not throw and must not run user code (a JoinSet queues the task).
/// </summary>
internal interface ICompletionListener<T>
{
    void OnTaskCompleted(TaskCore<T> task, Outcome<T> outcome);
}

/// <summary>The typed part of a task: its body, its result and the tasks waiting to join it.</summary>
internal sealed class TaskCore<T> : TaskCore
{
    private object? _body; // Func<Cx, Task<T>> or (for T = Unit) Func<Cx, Task>; then the running body Task
    private Outcome<T> _outcome;
    private bool _completed;
    private object? _joiners; // a JoinOp<T>, a TaskCompletionSource for AsTask, an ITaskListener<T>, or a List<object> of them

    internal TaskCore(RegionCore region, string name, TaskBudget? budget, Capabilities caps, object body, bool isInternal)
        : base(region, name, budget, caps, isInternal)
    {
        _body = body;
    }

    internal bool IsCompleted => Volatile.Read(ref _completed);

    /// <summary>Installs the completion listener before the task starts (nothing else can see the task yet).</summary>
    internal void PresetListener(ITaskListener<T> listener) => _joiners = listener;

    internal Outcome<T> Outcome => _outcome;

    protected override void StartBody()
    {
        var body = _body!;
        _body = null;
        if (!TryBeginRunning(out var early))
        {
            // Cancelled before its first step: the body never runs (there is nothing of it to clean up).
            Finish(Outcome<T>.Cancelled(early!));
            return;
        }
        Task t;
        try
        {
            t = body is Func<Cx, Task<T>> f ? f(Cx) : ((Func<Cx, Task>)body)(Cx);
            if (t is null) throw new InvalidOperationException($"The body of task '{Name}' returned a null Task.");
        }
        catch (Exception ex)
        {
            Finish(FromNonOk(Classify(ex)));
            return;
        }
        if (t.IsCompleted)
        {
            OnBodyTask(t);
        }
        else
        {
            _body = t;
            // Completion bookkeeping runs wherever the body finished (normally inside one of this task's steps)
            // instead of being posted back as another step. Not ConfigureAwait(false).UnsafeOnCompleted: .NET
            // refuses to inline such a continuation while a non-default SynchronizationContext (this task) is
            // installed on the completing thread and sends it to the thread pool; an ExecuteSynchronously
            // continuation on the default scheduler is inlined.
            t.ContinueWith(static (_, s) => ((TaskCore<T>)s!).OnBodyDone(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void OnBodyDone() => OnBodyTask((Task)_body!);

    private void OnBodyTask(Task t)
    {
        if (Runtime.ChoicePoints && ReferenceEquals(Current, this))
        {
            // A choice point before completion (Lab only): completing reads the task's cancel state (a cancel
            // requested after the body's last operation settles the outcome as Cancelled) and wakes its joiners,
            // and production can run another thread between the body's last operation and that. Found by the
            // differential soundness check (SoundnessPropertyTests).
            _body = t;
            Runtime.Observer?.OnChoicePoint(this);
            Yielding = true;
            Enqueue(FinishStep, this);
            return;
        }
        FinishBody(t);
    }

    protected override void FinishFinishedBody() => FinishBody((Task)_body!);

    private void FinishBody(Task t)
    {
        _body = null;
        if (t.Status == TaskStatus.RanToCompletion)
        {
            Finish(Outcome<T>.Ok(t is Task<T> typed ? typed.Result : default!));
        }
        else
        {
            Finish(FromNonOk(Classify(ExceptionOf(t))));
        }
    }

    private static Outcome<T> FromNonOk(Outcome<Unit> o) => Outcome<T>.FromNonOk(o.Kind, o.Payload);

    private void Finish(Outcome<T> body)
    {
        var final = body;
        if (NeedsSettle)
        {
            var settled = SettleAtEnd(body.WithoutValue());
            if (settled.Kind != OutcomeKind.Ok) final = FromNonOk(settled);
        }
        Complete(final);
    }

    // The pending outcome waited in _outcome (nobody reads it before _completed is set).
    protected override void CompleteAfterOwnedRegions() => Complete(_outcome);

    private void Complete(Outcome<T> final)
    {
        object? joiners;
        Time.TimerEntry? t1, t2;
        CancellationTokenSource? cts;
        lock (this)
        {
            _outcome = final; // read by nobody before _completed is set; kept there when the task waits for its regions
            if (!TryMarkCompletedLocked(out t1, out t2, out cts)) return; // resumes when its regions closed
            Volatile.Write(ref _completed, true);
            joiners = _joiners;
            _joiners = null;
        }
        ReleaseAfterCompleted(t1, t2, cts);
        Runtime.Observer?.OnTaskCompleted(this, final.WithoutValue());
        global::Asupersync.Diagnostics.KernelMetrics.TaskCompleted(final.Kind);
        Runtime.Potential.TaskCompleted(Deadline);
        switch (joiners)
        {
            case null:
                break;
            case JoinOp<T> one:
                one.TrySetResult(final);
                break;
            case List<object> many:
                foreach (var j in many)
                {
                    if (j is JoinOp<T> op) op.TrySetResult(final);
                    else if (j is ITaskListener<T> listener) listener.OnCompleted(this, final);
                    else if (j is ICompletionListener<T> l) l.OnTaskCompleted(this, final);
                    else ((TaskCompletionSource<Outcome<T>>)j).TrySetResult(final);
                }
                break;
            case TaskCompletionSource<Outcome<T>> tcs:
                tcs.TrySetResult(final);
                break;
            case ITaskListener<T> listener:
                listener.OnCompleted(this, final);
                break;
            case ICompletionListener<T> completion:
                completion.OnTaskCompleted(this, final);
                break;
        }
        Region.OnTaskCompleted(this, final.WithoutValue());
    }

    /// <summary>Join: the outcome now, or a wait that completes when the task does.</summary>
    internal ValueTask<Outcome<T>> JoinAsync(TaskCore waiter)
    {
        if (ReferenceEquals(waiter, this))
            throw new InvalidOperationException($"Task '{Name}' tried to join itself; that would never complete.");
        waiter.Checkpoint();
        // Lab: a read of this task's completion is an access even when nothing changes (dependency tracking). Only
        // the task's completion writes what a join reads, so it is a key of its own, not the task's.
        Runtime.Observer?.OnAccess(Id, "task.join");
        JoinOp<T> op;
        lock (this)
        {
            if (_completed) return new ValueTask<Outcome<T>>(_outcome);
            op = new JoinOp<T>(waiter, this);
            AddJoinerLocked(op);
        }
        Runtime.Observer?.OnWait(waiter, "join", Id);
        op.Register();
        WaitForGraph.OnParked(waiter);
        return op.AsValueTask();
    }

    /// <summary>Adds a completion listener; false when the task already completed (the caller handles it then).</summary>
    internal bool TryAddListener(ICompletionListener<T> listener)
    {
        lock (this)
        {
            if (_completed) return false;
            AddJoinerLocked(listener);
            return true;
        }
    }

    internal void RemoveJoiner(JoinOp<T> op)
    {
        lock (this)
        {
            if (ReferenceEquals(_joiners, op)) _joiners = null;
            else if (_joiners is List<object> many) many.Remove(op);
        }
    }

    /// <summary>A plain Task view of the outcome, for code outside the runtime.</summary>
    internal Task<Outcome<T>> AsTask()
    {
        lock (this)
        {
            if (_completed) return Task.FromResult(_outcome);
            if (_joiners is List<object> many)
            {
                foreach (var j in many) if (j is TaskCompletionSource<Outcome<T>> existing) return existing.Task;
            }
            else if (_joiners is TaskCompletionSource<Outcome<T>> single)
            {
                return single.Task;
            }
            var tcs = new TaskCompletionSource<Outcome<T>>(TaskCreationOptions.RunContinuationsAsynchronously);
            AddJoinerLocked(tcs);
            return tcs.Task;
        }
    }

    private void AddJoinerLocked(object joiner)
    {
        switch (_joiners)
        {
            case null:
                _joiners = joiner;
                break;
            case List<object> many:
                many.Add(joiner);
                break;
            default:
                _joiners = new List<object> { _joiners, joiner };
                break;
        }
    }
}

/// <summary>Told of a task when it is admitted (before its first step) and when it completed: a combinator's view of its branches.</summary>
internal interface ITaskListener<T>
{
    /// <summary>The task was admitted; it has not started yet.</summary>
    void OnSpawned(TaskCore<T> task);

    /// <summary>The task completed with <paramref name="outcome"/> (runs on the completing thread, outside every lock).</summary>
    void OnCompleted(TaskCore<T> task, Outcome<T> outcome);
}
