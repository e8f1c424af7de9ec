namespace Asupersync.Kernel;

/// <summary>An I/O fault a fault source can inject into a runtime's simulated I/O (the virtual network).</summary>
internal enum IoFault : byte
{
    /// <summary>A write resets the connection (both directions fail with a reset).</summary>
    ConnectionReset,

    /// <summary>A read returns fewer bytes than are available (legal TCP behaviour that parsers must handle).</summary>
    ShortRead,

    /// <summary>A write is cut partway: the peer receives a prefix, then the connection resets.</summary>
    ShortWrite,

    /// <summary>An accepted connection fails before the server gets it (ECONNABORTED, a transient accept error).</summary>
    AcceptFailure,

    /// <summary>A connect is refused although a listener exists.</summary>
    ConnectRefused,

    /// <summary>A connect gets no answer until its timeout (the OS's connect timeout when none is given).</summary>
    ConnectTimeout,

    /// <summary>The foreign I/O behind an <see cref="ObligationKind.IoOp"/> obligation fails before its effect (a bridge's statement, COMMIT or HTTP request).</summary>
    IoOpFailure,
}

/// <summary>The bridges' entry to I/O chaos: a point before the effect of an <see cref="ObligationKind.IoOp"/> obligation.</summary>
internal static class IoChaos
{
    /// <summary>Throws an injected <see cref="IOException"/> here when the runtime's fault source (the Lab's chaos) says so; nothing happened yet.</summary>
    /// <param name="cx">The holder's context.</param>
    /// <param name="site">The operation about to run (for the trace and the message).</param>
    internal static void BeforeEffect(Cx cx, string site)
    {
        if (cx.Task.Runtime.GetService<IIoFaultSource>() is { } f && f.Inject(IoFault.IoOpFailure, cx.Task, site))
            throw new IOException($"Lab chaos: injected I/O failure before {site} (nothing was sent).");
    }
}

/// <summary>
/// A seeded source of I/O faults that simulated I/O consults at each site where the fault can happen (the Lab's
/// chaos, as a runtime service: <c>RuntimeCore.SetService&lt;IIoFaultSource&gt;</c>). Decisions come from the
/// source's own stream, so a seed replays the same faults at the same operations.
/// </summary>
internal interface IIoFaultSource
{
    /// <summary>Whether to inject <paramref name="fault"/> now, for <paramref name="task"/>; <paramref name="site"/> names the operation for the trace.</summary>
    bool Inject(IoFault fault, TaskCore? task, string site);

    /// <summary>A value in [0, <paramref name="maxExclusive"/>) from the fault stream (how short a short read is, say).</summary>
    int Draw(int maxExclusive);
}
