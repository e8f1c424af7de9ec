using System.Threading.Tasks.Sources;
using Asupersync.Time;

namespace Asupersync.Kernel;

/// <summary>A wait that the cancel protocol may interrupt.</summary>
internal interface IInterruptible
{
    /// <summary>Ends the wait without its effect (it leaves every wait queue); the waiter then raises the cancel.</summary>
    void Interrupt();
}

/// <summary>
/// The building block of every runtime await: a one-shot <see cref="IValueTaskSource{TResult}"/> bound to the
/// waiting task. Its continuation is always queued on that task (so it resumes through the driver), and an
/// interrupt (cancel) completes it without effect, so that <see cref="GetResult"/> raises the cancel.
/// </summary>
/// <remarks>
/// Cancel-safety rule: the checkpoint is taken <em>before</em> a wait is created. Once a wait completes with
/// its effect (an item received, a lock taken), <see cref="GetResult"/> returns it and does not raise — the
/// cancel is observed at the next checkpoint — so no effect is ever lost between completion and resumption.
/// </remarks>
internal abstract class WaitOp<T> : IValueTaskSource<T>, IValueTaskSource, IInterruptible
{
    private const int Pending = 0, Completing = -1, Succeeded = 1, Faulted = 2, Interrupted = 3;
    private static readonly Action<object?> s_sentinel = static _ => { };

    protected readonly TaskCore Waiter;
    private int _status;
    private T _result = default!;
    private Exception? _error;
    private Action<object?>? _continuation;
    private object? _continuationState;

    protected WaitOp(TaskCore waiter) => Waiter = waiter;

    /// <summary>Whether a cancel request interrupts this wait (region-close waits are not interruptible).</summary>
    protected virtual bool IsInterruptible => true;

    internal ValueTask<T> AsValueTask() => new(this, 0);

    internal ValueTask AsUntypedValueTask() => new(this, 0);

    internal bool IsDone => Volatile.Read(ref _status) > 0;

    /// <summary>Registers the wait with its task's cancel protocol; call once after the wait is enqueued.</summary>
    internal void Register()
    {
        if (!IsInterruptible) return;
        if (!Waiter.SetWait(this)) Interrupt();
    }

    internal bool TrySetResult(T result)
    {
        if (Interlocked.CompareExchange(ref _status, Completing, Pending) != Pending) return false;
        _result = result;
        Volatile.Write(ref _status, Succeeded);
        Signal();
        return true;
    }

    internal bool TrySetException(Exception error)
    {
        if (Interlocked.CompareExchange(ref _status, Completing, Pending) != Pending) return false;
        _error = error;
        Volatile.Write(ref _status, Faulted);
        Signal();
        return true;
    }

    public void Interrupt()
    {
        if (Interlocked.CompareExchange(ref _status, Completing, Pending) != Pending) return;
        OnInterrupted();
        Volatile.Write(ref _status, Interrupted);
        Waiter.Runtime.Observer?.OnWaitInterrupted(Waiter);
        Signal();
    }

    /// <summary>Leave whatever queue the wait is in. Runs before the waiter resumes.</summary>
    protected virtual void OnInterrupted() { }

    private void Signal()
    {
        Waiter.ClearWait(this);
        var c = Interlocked.Exchange(ref _continuation, s_sentinel);
        if (c is not null && !ReferenceEquals(c, s_sentinel)) Waiter.Enqueue(c, _continuationState);
    }

    public ValueTaskSourceStatus GetStatus(short token) => Volatile.Read(ref _status) switch
    {
        Succeeded => ValueTaskSourceStatus.Succeeded,
        Faulted or Interrupted => ValueTaskSourceStatus.Faulted,
        _ => ValueTaskSourceStatus.Pending,
    };

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        // The captured context and execution-context flags are ignored on purpose: the continuation always
        // resumes as a step of the waiting task, with the task's own context installed by the driver.
        _continuationState = state;
        var prev = Interlocked.CompareExchange(ref _continuation, continuation, null);
        if (ReferenceEquals(prev, s_sentinel)) Waiter.Enqueue(continuation, state);
    }

    public T GetResult(short token)
    {
        switch (Volatile.Read(ref _status))
        {
            case Succeeded:
                return _result;
            case Faulted:
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_error!);
                return default!;
            case Interrupted:
                throw Waiter.InterruptedException();
            default:
                throw new InvalidOperationException("A runtime wait was read before it completed (awaited twice?).");
        }
    }

    void IValueTaskSource.GetResult(short token) => GetResult(token);
}

internal sealed class JoinOp<T> : WaitOp<Outcome<T>>, IWaitForEdge
{
    private readonly TaskCore<T> _target;

    internal JoinOp(TaskCore waiter, TaskCore<T> target) : base(waiter) => _target = target;

    bool IWaitForEdge.AddTargets(List<TaskCore> into, out string resource)
    {
        resource = "join";
        if (IsDone) return false;
        into.Add(_target);
        return true;
    }

    protected override void OnInterrupted() => _target.RemoveJoiner(this);
}

internal sealed class SleepOp : WaitOp<Unit>
{
    private TimerEntry? _timer;

    private SleepOp(TaskCore waiter) : base(waiter) { }

    internal static ValueTask Start(TaskCore waiter, TimeSpan due)
    {
        waiter.Checkpoint();
        if (due <= waiter.Runtime.Now) return ValueTask.CompletedTask;
        var op = new SleepOp(waiter);
        waiter.Runtime.Observer?.OnWait(waiter, "sleep", 0);
        op._timer = waiter.Runtime.AddTimer(due, static s => ((SleepOp)s!).TrySetResult(default), op);
        op.Register();
        return op.AsUntypedValueTask();
    }

    protected override void OnInterrupted() => _timer?.Cancel();
}

/// <summary>
/// A one-step yield: the task goes to the back of its lane. Resuming is a checkpoint too: a cancel that landed
/// while the task was yielded is raised on resumption, as after every other runtime await.
/// </summary>
internal sealed class YieldOp : IValueTaskSource
{
    private readonly TaskCore _task;

    internal YieldOp(TaskCore task) => _task = task;

    public ValueTaskSourceStatus GetStatus(short token) => ValueTaskSourceStatus.Pending;

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        _task.Yielding = true; // to the back of its lane, never a driver's run-next slot
        _task.Enqueue(continuation, state);
    }

    public void GetResult(short token) => _task.Checkpoint();
}

/// <summary>Waits for a plain .NET task with the cancel protocol applied: a cancel interrupts the wait (the task is abandoned).</summary>
internal sealed class BridgeOp<T> : WaitOp<T>
{
    private readonly Task _task;

    private BridgeOp(TaskCore waiter, Task task) : base(waiter) => _task = task;

    internal static ValueTask<T> Start(TaskCore waiter, Task task)
    {
        waiter.Checkpoint();
        if (task.IsCompleted) return new ValueTask<T>(ResultOf(task));
        var op = new BridgeOp<T>(waiter, task);
        waiter.Runtime.Observer?.OnWait(waiter, "bridge", 0);
        OnCompletedInline(task, op);
        op.Register();
        return op.AsValueTask();
    }

    internal static ValueTask StartUntyped(TaskCore waiter, Task task)
    {
        waiter.Checkpoint();
        if (task.IsCompleted)
        {
            task.GetAwaiter().GetResult();
            return ValueTask.CompletedTask;
        }
        var op = new BridgeOp<T>(waiter, task);
        waiter.Runtime.Observer?.OnWait(waiter, "bridge", 0);
        OnCompletedInline(task, op);
        op.Register();
        return op.AsUntypedValueTask();
    }

    /// <summary>
    /// Runs the completion on the thread that completed <paramref name="task"/> (inline, as documented): a
    /// ConfigureAwait(false) awaiter would be sent to the thread pool while a task's context is installed.
    /// </summary>
    private static void OnCompletedInline(Task task, BridgeOp<T> op) =>
        task.ContinueWith(static (_, s) => ((BridgeOp<T>)s!).OnTaskDone(), op, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private void OnTaskDone()
    {
        if (_task.Status == TaskStatus.RanToCompletion)
        {
            TrySetResult(_task is Task<T> t ? t.Result : default!);
        }
        else
        {
            var ex = _task.IsFaulted ? (_task.Exception!.InnerExceptions.Count == 1 ? _task.Exception.InnerExceptions[0] : _task.Exception) : Capture(_task);
            if (ex is OperationCanceledException && Waiter.IsCancelRequested) ex = Waiter.InterruptedException();
            TrySetException(ex); // no-op when the wait was already interrupted; the exception is still observed
        }
    }

    private static T ResultOf(Task task)
    {
        if (task is Task<T> t) return t.GetAwaiter().GetResult();
        task.GetAwaiter().GetResult();
        return default!;
    }

    private static Exception Capture(Task t)
    {
        try { t.GetAwaiter().GetResult(); }
        catch (Exception ex) { return ex; }
        return new InvalidOperationException("unreachable");
    }
}

/// <summary>Waits for a region to close. Not interruptible: a cancel propagates into the region instead, and the caller resumes once it closed.</summary>
internal sealed class RegionCloseOp : WaitOp<Unit>, IRegionCloseWaiter
{
    internal RegionCloseOp(TaskCore waiter) : base(waiter) { }

    protected override bool IsInterruptible => false;

    void IRegionCloseWaiter.OnRegionClosed(RegionCore region) => TrySetResult(default);
}

/// <summary>Waits for the runtime's shutdown signal (SIGINT/SIGTERM or <see cref="Runtime.RequestShutdown"/>).</summary>
internal sealed class ShutdownOp : WaitOp<Unit>
{
    private readonly RuntimeCore _rt;

    internal ShutdownOp(TaskCore waiter, RuntimeCore rt) : base(waiter) => _rt = rt;

    protected override void OnInterrupted() => _rt.RemoveShutdownWaiter(this);
}
