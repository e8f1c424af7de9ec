using Asupersync.Kernel;

namespace Asupersync.Sync;

/// <summary>Shared by the poisoning locks (<see cref="AsyncMutex"/>, <see cref="RwLock"/>).</summary>
internal static class Poisoning
{
    /// <summary>
    /// True when <paramref name="ex"/>, escaping a task's body, would end it Panicked: not a cancel (of this task) and
    /// not a <see cref="TaskErrorException"/> (an Err outcome, a failure the code anticipated).
    /// </summary>
    internal static bool IsPanic(Exception ex, Cx cx) => ex switch
    {
        CancelledException => false,
        TaskErrorException => false,
        OperationCanceledException when cx.Task.IsCancelRequested => false,
        _ => true,
    };

    internal static InvalidOperationException NotPoisoning(string what) =>
        new($"this {what} was created without poisoning (pass poisoning: true to its constructor)");
}
