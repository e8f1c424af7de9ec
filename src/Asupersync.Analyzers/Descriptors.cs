using Microsoft.CodeAnalysis;

namespace Asupersync.Analyzers;

/// <summary>The rules. Each applies inside a method, local function or lambda that takes a <c>Cx</c>: runtime-managed code.</summary>
internal static class Descriptors
{
    private const string Category = "Asupersync";

    private static DiagnosticDescriptor Rule(string id, string title, string message, string description) =>
        new(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, description: description);

    internal static readonly DiagnosticDescriptor AmbientTime = Rule("ASY0001", "Ambient clock in runtime-managed code",
        "'{0}' reads the machine clock; use '{1}' so the Lab's virtual time and replay see it",
        "DateTime.Now/UtcNow/Today, DateTimeOffset.Now/UtcNow and Environment.TickCount bypass the runtime clock: under the Lab they make a run unreplayable.");

    internal static readonly DiagnosticDescriptor AmbientDelay = Rule("ASY0002", "Ambient delay in runtime-managed code",
        "'{0}' waits outside the runtime: it is not a checkpoint, ignores cancellation and virtual time; use 'await {1}.SleepAsync(...)'",
        "Task.Delay and Thread.Sleep are invisible to the scheduler, the cancel protocol and the Lab.");

    internal static readonly DiagnosticDescriptor AmbientSpawn = Rule("ASY0003", "Unstructured concurrency in runtime-managed code",
        "'{0}' starts work outside any region: it can outlive its parent and escapes cancellation; use '{1}.Spawn(...)'",
        "Task.Run, Task.Factory.StartNew, ThreadPool.QueueUserWorkItem and new Thread create orphans the region cannot cancel or wait for.");

    internal static readonly DiagnosticDescriptor AmbientRandom = Rule("ASY0004", "Ambient randomness in runtime-managed code",
        "'{0}' is not seeded by the runtime; use '{1}.NextRandom(...)' so a seed replays the run",
        "Random.Shared and new Random() make Lab runs irreproducible.");

    internal static readonly DiagnosticDescriptor ConfigureAwaitFalse = Rule("ASY0005", "ConfigureAwait(false) in runtime-managed code",
        "ConfigureAwait(false) resumes the task off its runtime context: the rest of the body runs outside the scheduler and its checkpoints",
        "A task body must resume on its own task context; ConfigureAwait(false) leaves it.");

    internal static readonly DiagnosticDescriptor RawSocket = Rule("ASY0006", "Raw socket in runtime-managed code",
        "'{0}' opens a socket the runtime does not see: not cancel-safe, not on the Lab's virtual network; use '{1}.TcpConnectAsync'/'{1}.TcpBindAsync' (Asupersync.Net)",
        "System.Net.Sockets types bypass the runtime's I/O capability and the Lab's virtual network.");

    internal static readonly DiagnosticDescriptor UnresolvedObligation = Rule("ASY0007", "Obligation is never resolved",
        "The {0} '{1}' is neither committed, aborted, sent nor disposed: it leaks when the task ends; use 'using var {1} = ...' or resolve it",
        "A reserved obligation left open when its holder ends is a leak: the runtime aborts it and fails the task.");

    internal static readonly DiagnosticDescriptor CapturedCx = Rule("ASY0008", "A task uses another task's Cx",
        "The task body uses '{0}', the Cx of an enclosing task; use its own parameter '{1}'",
        "Each task's Cx belongs to that task: cancellation, budget and ownership checks are per Cx. A Cx captured into a spawned body acts for the wrong task.");
}
