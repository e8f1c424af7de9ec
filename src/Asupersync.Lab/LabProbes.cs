using Asupersync.Kernel;

namespace Asupersync.Lab;

/// <summary>Test hooks of the Lab (per thread: a Lab run drives its tasks on the thread that called it).</summary>
internal static class LabProbes
{
    /// <summary>Called at the beginning and the end of every task step the Lab runs on this thread.</summary>
    [ThreadStatic]
    internal static Action<TaskCore, bool>? Step;
}
