using Asupersync.Kernel;

namespace Asupersync;

/// <summary>
/// A handle to a spawned task: join it (its <see cref="Outcome{T}"/>), cancel it with a budget, or await it.
/// Losing the handle never orphans the task — its region still owns it and waits for it.
/// </summary>
/// <typeparam name="T">The task's result.</typeparam>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public sealed class TaskHandle<T>
{
    internal readonly TaskCore<T> Core;

    internal TaskHandle(TaskCore<T> core) => Core = core;

    /// <summary>The task's id.</summary>
    public long Id => Core.Id;

    /// <summary>The task's name.</summary>
    public string Name => Core.Name;

    /// <summary>The task's lifecycle state.</summary>
    public TaskState State => Core.State;

    /// <summary>True once the task completed.</summary>
    public bool IsCompleted => Core.IsCompleted;

    /// <summary>The outcome if the task completed.</summary>
    /// <param name="outcome">The outcome.</param>
    /// <returns>True when completed.</returns>
    public bool TryGetOutcome(out Outcome<T> outcome)
    {
        // Completed is published after the outcome (volatile write), so read it first.
        if (!Core.IsCompleted)
        {
            outcome = default;
            return false;
        }
        outcome = Core.Outcome;
        return true;
    }

    /// <summary>
    /// Waits for the task and returns its outcome (never throws for the task's own failure). A checkpoint and
    /// cancel-safe: if <paramref name="cx"/>'s task is cancelled while waiting, the wait ends with
    /// <see cref="CancelledException"/> and the joined task keeps running in its region.
    /// </summary>
    /// <param name="cx">The waiting task's context.</param>
    /// <returns>The outcome.</returns>
    public ValueTask<Outcome<T>> JoinAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        if (ChoicePoint.IsActive(cx.Task)) return ChoicePoint.BeforeAsync(cx.Task, (Core, cx.Task), static s => s.Item1.JoinAsync(s.Item2));
        return Core.JoinAsync(cx.Task);
    }

    /// <summary>Requests a cancel with a <see cref="CancelKind.User"/> reason.</summary>
    /// <param name="budget">The cleanup budget (met with the reason's allowance); e.g. <c>Budget.Timeout(TimeSpan.FromSeconds(5))</c>.</param>
    /// <param name="message">Why, for diagnostics.</param>
    public void Cancel(Budget budget = default, string? message = null) =>
        Core.RequestCancel(new CancelReason(CancelKind.User, message, Core.Runtime.Now, 0, TaskCore.Current?.Id ?? 0), budget);

    /// <summary>Requests a cancel with a given reason. A second request can only tighten the reason and budget.</summary>
    /// <param name="reason">The reason.</param>
    /// <param name="budget">The cleanup budget.</param>
    public void Cancel(CancelReason reason, Budget budget = default)
    {
        ArgumentNullException.ThrowIfNull(reason);
        Core.RequestCancel(reason, budget);
    }

    /// <summary>A plain <see cref="Task{TResult}"/> of the outcome, for code outside the runtime (tests, host glue).</summary>
    /// <returns>A task completing with the outcome.</returns>
    public Task<Outcome<T>> AsTask() => Core.AsTask();

    /// <summary>
    /// Waits for the task and unwraps its outcome (<see cref="Outcome{T}.GetValueOrThrow"/>): the value, or the
    /// task's error, cancellation or panic as an exception. A checkpoint and cancel-safe, like <see cref="JoinAsync"/>.
    /// </summary>
    /// <remarks>
    /// The handle itself is deliberately not awaitable: spawning without awaiting is the normal way to start a
    /// task that the region owns, and an awaitable return value would make every such call a compiler warning.
    /// </remarks>
    /// <param name="cx">The waiting task's context.</param>
    /// <returns>The task's value.</returns>
    public ValueTask<T> ValueAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        var join = JoinAsync(cx);
        if (join.IsCompletedSuccessfully) return new ValueTask<T>(join.Result.GetValueOrThrow());
        return Slow(join);

        static async ValueTask<T> Slow(ValueTask<Outcome<T>> j) => (await j).GetValueOrThrow();
    }

    /// <inheritdoc />
    public override string ToString() => Core.ToString();
}
