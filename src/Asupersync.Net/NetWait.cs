using Asupersync.Kernel;
using Asupersync.Time;

namespace Asupersync.Net;

/// <summary>
/// A kernel wait for a plain socket <see cref="Task{TResult}"/>, with an optional deadline on the runtime clock.
/// Like <c>cx.AwaitAsync</c> it resumes through the driver and a cancel interrupts it at once; in addition the
/// deadline ends the wait with <see cref="TimeoutException"/>. Either way the socket operation itself is left
/// pending — its owner keeps it and resumes it later, which is what makes reads and accepts cancel-safe.
/// </summary>
internal sealed class NetWait<T> : WaitOp<T>
{
    private readonly Task<T> _task;
    private TimerEntry? _timer;

    private NetWait(TaskCore waiter, Task<T> task) : base(waiter) => _task = task;

    /// <summary>Waits for <paramref name="task"/>; the caller has taken the checkpoint.</summary>
    internal static ValueTask<T> Start(Cx cx, Task<T> task, TimeSpan? deadline)
    {
        var waiter = cx.Task;
        waiter.Checkpoint();
        if (task.IsCompleted) return new ValueTask<T>(task);
        var rt = waiter.Runtime;
        if (deadline is { } d && d <= rt.Now) return ValueTask.FromException<T>(Timeout());
        var op = new NetWait<T>(waiter, task);
        rt.Observer?.OnWait(waiter, "socket", 0);
        if (deadline is { } dl) op._timer = rt.AddTimer(dl, static s => ((NetWait<T>)s!).TrySetException(Timeout()), op);
        task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(op.OnTaskDone);
        op.Register();
        return op.AsValueTask();
    }

    private static TimeoutException Timeout() => new("The network operation did not complete within its budget.");

    private void OnTaskDone()
    {
        _timer?.Cancel();
        if (_task.Status == TaskStatus.RanToCompletion) TrySetResult(_task.Result);
        else TrySetException(_task.Exception?.InnerException ?? new OperationCanceledException());
    }

    protected override void OnInterrupted() => _timer?.Cancel();
}

/// <summary>Resolves a wait <see cref="Budget"/> (deadline and/or timeout) to an absolute runtime deadline.</summary>
internal static class WaitBudget
{
    internal static TimeSpan? DeadlineOf(Cx cx, Budget budget)
    {
        if (budget.Deadline is null && budget.RelativeTimeout is null) return null;
        return budget.Resolve(cx.Task.Runtime.Now).Deadline;
    }
}
