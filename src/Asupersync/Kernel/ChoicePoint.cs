using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Asupersync.Kernel;

/// <summary>
/// The one hook every synchronization operation calls so that a driver that explores schedules (the Lab) can
/// switch tasks there, <em>whether or not the operation suspends</em>.
/// </summary>
/// <remarks>
/// <para>Why: production runs other threads between any two operations of a task — between releasing one lock
/// and taking the next, even when both are uncontended and complete synchronously. A single-threaded explorer
/// only gets to choose when a task suspends, so without this hook an uncontended <c>LockAsync</c> and the code
/// around it would be one indivisible step in the Lab, and a verdict such as "exhausted, clean" would be about a
/// coarser program than the one production runs.</para>
/// <para>The protocol (a "baton hand-off"): an operation first asks <see cref="IsActive"/>; under the Lab it
/// suspends its caller through <see cref="BeforeAsync{TState, T}"/>, which puts the task back among the ready
/// ones, and performs the operation itself only when the scheduler picks the task again. The operation then runs
/// its ordinary code path (it does not ask again), so the semantics are the production ones.</para>
/// <para>Production pays one read of a field that is always false, and never allocates for it.</para>
/// </remarks>
internal static class ChoicePoint
{
    /// <summary>True when <paramref name="task"/>'s runtime wants a scheduling choice before each operation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsActive(TaskCore task) => task.Runtime.ChoicePoints;

    /// <summary>True when the task running on this thread (if any) wants a choice before each operation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsActiveHere([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TaskCore? task)
    {
        task = TaskCore.Current;
        return task is not null && task.Runtime.ChoicePoints;
    }

    /// <summary>Suspends <paramref name="task"/> and makes it ready again: the driver picks who runs next.</summary>
    /// <remarks>Not a checkpoint: the operation that follows takes its own checkpoint, as in production.</remarks>
    internal static ValueTask YieldAsync(TaskCore task) => new(new ChoiceOp(task), 0);

    /// <summary>Yields at a choice point, then runs <paramref name="operation"/> (its production path).</summary>
    internal static async ValueTask<T> BeforeAsync<TState, T>(TaskCore task, TState state, Func<TState, ValueTask<T>> operation)
    {
        await YieldAsync(task);
        return await operation(state);
    }

    /// <summary>Yields at a choice point, then runs <paramref name="operation"/> (its production path).</summary>
    internal static async ValueTask BeforeAsync<TState>(TaskCore task, TState state, Func<TState, ValueTask> operation)
    {
        await YieldAsync(task);
        await operation(state);
    }

    /// <summary>Yields at a choice point, then runs the synchronous <paramref name="operation"/> (an async release).</summary>
    internal static async ValueTask BeforeAsync<TState>(TaskCore task, TState state, Action<TState> operation)
    {
        await YieldAsync(task);
        operation(state);
    }

    private sealed class ChoiceOp(TaskCore task) : IValueTaskSource
    {
        public ValueTaskSourceStatus GetStatus(short token) => ValueTaskSourceStatus.Pending;

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        {
            task.Runtime.Observer?.OnChoicePoint(task);
            task.Yielding = true;
            task.Enqueue(continuation, state);
        }

        public void GetResult(short token) { }
    }
}
