namespace Asupersync;

/// <summary>
/// What a <see cref="Cx"/> may do. A Cx can be narrowed (<see cref="Cx.Narrow"/>) but never widened;
/// an effect used without its capability fails with <see cref="CapabilityException"/> (and is an AmbientAuthority
/// finding in the Lab).
/// </summary>
/// <remarks>
/// <para>Library operations check the capabilities of what they do on the caller's behalf, at the call:
/// combinators need <see cref="Spawn"/> (their branches are tasks), and <c>TimeoutAsync</c>, <c>HedgeAsync</c>
/// and <c>RetryAsync</c> also <see cref="Time"/>; TCP needs <see cref="IO"/>, plus <see cref="Time"/> for a read
/// deadline or a connect timeout; serving HTTP needs IO, Time (header, body and idle deadlines, the drain timer)
/// and Spawn. Spawned tasks and region finalizers get the capabilities of the Cx that created them, never more.</para>
/// <para>Not covered by any capability, on purpose: cancellation and structure (<c>Checkpoint</c>, masks,
/// <c>CancelRegion</c>, joins, yields, obligations), awaiting a plain <see cref="System.Threading.Tasks.Task"/>
/// the caller already has, the shutdown signal, and the runtime-time stamps the kernel records in
/// <see cref="CancelReason"/>s, budgets, obligations (<c>ReservedAt</c>) and diagnostics. The virtual network's
/// simulated latency and fault draws are part of the I/O they model and need only IO.</para>
/// </remarks>
[Flags]
public enum Capabilities
{
    /// <summary>No effects at all: pure computation plus checkpoints.</summary>
    None = 0,

    /// <summary>Spawning tasks and opening regions.</summary>
    Spawn = 1,

    /// <summary>Reading the runtime clock, sleeping, timeouts.</summary>
    Time = 2,

    /// <summary>Drawing from the runtime's entropy source.</summary>
    Random = 4,

    /// <summary>Network and other I/O through the runtime.</summary>
    IO = 8,

    /// <summary>Remote (distributed) effects; reserved for later work.</summary>
    Remote = 16,

    /// <summary>Every capability.</summary>
    All = Spawn | Time | Random | IO | Remote,
}

/// <summary>Thrown when a <see cref="Cx"/> is used for an effect its capability set does not grant.</summary>
public sealed class CapabilityException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="missing">The capability that was needed.</param>
    /// <param name="taskName">The task that tried to use it.</param>
    public CapabilityException(Capabilities missing, string taskName)
        : base($"Task '{taskName}' used an effect that needs the {missing} capability, which its Cx does not grant (it was narrowed away).")
    {
        Missing = missing;
        TaskName = taskName;
    }

    /// <summary>The capability that was needed.</summary>
    public Capabilities Missing { get; }

    /// <summary>The task that tried to use it.</summary>
    public string TaskName { get; }
}
