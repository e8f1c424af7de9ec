namespace Asupersync.Kernel;

/// <summary>The typed part of a task: its body, its result and the tasks waiting to join it.</summary>
internal sealed class TaskCore<T> : TaskCore
{
    private object? _body; // Func<Cx, Task<T>> or (for T = Unit) Func<Cx, Task>
    private Task? _bodyTask;
    private Outcome<T> _outcome;
    private Outcome<T> _pendingOutcome;
    private bool _completed;
    private List<JoinOp<T>>? _joiners;
    private TaskCompletionSource<Outcome<T>>? _tcs;
    private Action? _onBodyDone;

    internal TaskCore(RuntimeCore runtime, RegionCore region, string name, Budget budget, object body, bool isInternal)
        : base(runtime, region, name, budget, isInternal)
    {
        _body = body;
    }

    internal bool IsCompleted => Volatile.Read(ref _completed);

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
            _bodyTask = t;
            // Completion bookkeeping runs wherever the body finished (normally inside one of this task's steps)
            // instead of being posted back as another step. Not ConfigureAwait(false).UnsafeOnCompleted: .NET
            // refuses to inline such a continuation while a non-default SynchronizationContext (this task) is
            // installed and sends it to the thread pool; an ExecuteSynchronously continuation is inlined.
            _onBodyDone = OnBodyDone;
            t.ContinueWith(static (_, s) => ((Action)s!)(), _onBodyDone, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void OnBodyDone() => OnBodyTask(_bodyTask!);

    private void OnBodyTask(Task t)
    {
        _bodyTask = null;
        _onBodyDone = null;
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
        var settled = SettleAtEnd(body.WithoutValue());
        var final = settled.Kind == OutcomeKind.Ok ? body : FromNonOk(settled);
        if (MustAwaitOwnedRegions())
        {
            _pendingOutcome = final;
            return;
        }
        Complete(final);
    }

    protected override void CompleteAfterOwnedRegions() => Complete(_pendingOutcome);

    private void Complete(Outcome<T> final)
    {
        List<JoinOp<T>>? joiners;
        TaskCompletionSource<Outcome<T>>? tcs;
        lock (this)
        {
            _outcome = final;
            Volatile.Write(ref _completed, true);
            joiners = _joiners;
            _joiners = null;
            tcs = _tcs;
        }
        MarkCompleted();
        Runtime.Observer?.OnTaskCompleted(this, final.WithoutValue());
        if (joiners is not null)
        {
            foreach (var j in joiners) j.TrySetResult(final);
        }
        tcs?.TrySetResult(final);
        Region.OnTaskCompleted(this, final.WithoutValue());
    }

    /// <summary>Join: the outcome now, or a wait that completes when the task does.</summary>
    internal ValueTask<Outcome<T>> JoinAsync(TaskCore waiter)
    {
        if (ReferenceEquals(waiter, this))
            throw new InvalidOperationException($"Task '{Name}' tried to join itself; that would never complete.");
        waiter.Checkpoint();
        JoinOp<T> op;
        lock (this)
        {
            if (_completed) return new ValueTask<Outcome<T>>(_outcome);
            op = new JoinOp<T>(waiter, this);
            (_joiners ??= new List<JoinOp<T>>()).Add(op);
        }
        Runtime.Observer?.OnWait(waiter, "join", Id);
        op.Register();
        return op.AsValueTask();
    }

    internal void RemoveJoiner(JoinOp<T> op)
    {
        lock (this) _joiners?.Remove(op);
    }

    /// <summary>A plain Task view of the outcome, for code outside the runtime.</summary>
    internal Task<Outcome<T>> AsTask()
    {
        lock (this)
        {
            if (_completed) return Task.FromResult(_outcome);
            _tcs ??= new TaskCompletionSource<Outcome<T>>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _tcs.Task;
        }
    }
}
