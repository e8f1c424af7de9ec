namespace Asupersync.Lab.Chaos;

/// <summary>
/// Seeded fault injection for Lab runs: spurious cancels of running tasks and delays (virtual time jumps)
/// before steps, and I/O faults on the virtual network (<c>Asupersync.Net.VirtualNetwork</c>): connection resets,
/// short reads, writes cut partway, accept failures, refused and timed-out connects. Every decision comes from the
/// run's chaos streams, so a seed still replays exactly; each injected fault is an event of the trace
/// (<see cref="LabEventKind.ChaosCancel"/>, <see cref="LabEventKind.ChaosDelay"/>, <see cref="LabEventKind.ChaosIoFault"/>).
/// </summary>
/// <remarks>
/// The I/O probabilities apply per operation of the virtual network (a write, a read with more than one byte
/// available, an accepted connection, a connect), on top of the network's own <c>VirtualNetworkOptions</c> faults.
/// </remarks>
/// <param name="Name">A name for reports and traces.</param>
/// <param name="CancelProbability">Chance, before each step, of a spurious User cancel of one live task.</param>
/// <param name="DelayProbability">Chance, before each step, of a virtual delay.</param>
/// <param name="MaxDelay">Upper bound of one delay.</param>
/// <param name="CancelRootTask">Whether the root body may itself be cancelled (default false: only tasks below it).</param>
public sealed record ChaosOptions(string Name, double CancelProbability, double DelayProbability, TimeSpan MaxDelay, bool CancelRootTask = false)
{
    /// <summary>Chance that a write on the virtual network resets its connection.</summary>
    public double ResetProbability { get; init; }

    /// <summary>Chance that a read returns fewer bytes than are available (at least one).</summary>
    public double ShortReadProbability { get; init; }

    /// <summary>Chance that a write is cut partway: the peer receives a prefix, then the connection resets.</summary>
    public double ShortWriteProbability { get; init; }

    /// <summary>Chance that an accepted connection fails before the server gets it (a transient ECONNABORTED; the client sees a reset).</summary>
    public double AcceptFailureProbability { get; init; }

    /// <summary>Chance that a connect is refused although a listener exists.</summary>
    public double RefuseProbability { get; init; }

    /// <summary>Chance that a connect gets no answer: it fails with a <see cref="TimeoutException"/> at its timeout (127 s of virtual time, the Linux default, when it has none).</summary>
    public double ConnectTimeoutProbability { get; init; }

    /// <summary>
    /// Chance that the foreign I/O behind an <see cref="ObligationKind.IoOp"/> obligation fails before its effect — a
    /// statement or COMMIT of an <c>Asupersync.Data</c> transaction, an <c>Asupersync.Extensions</c> HttpClient request —
    /// with an <see cref="IOException"/>: nothing was sent, the obligation ends Aborted through the bridge's own failure path.
    /// </summary>
    public double IoOpFailureProbability { get; init; }

    /// <summary>True when some I/O fault can be injected.</summary>
    public bool HasIoFaults => ResetProbability > 0 || ShortReadProbability > 0 || ShortWriteProbability > 0 || AcceptFailureProbability > 0 || RefuseProbability > 0 || ConnectTimeoutProbability > 0 || IoOpFailureProbability > 0;

    /// <summary>No fault injection.</summary>
    public static ChaosOptions None { get; } = new("none", 0, 0, TimeSpan.Zero);

    /// <summary>Rare faults: 1% spurious cancels, 5% delays of up to 10 ms.</summary>
    public static ChaosOptions Light { get; } = new("light", 0.01, 0.05, TimeSpan.FromMilliseconds(10));

    /// <summary>Frequent faults: 5% spurious cancels, 20% delays of up to 100 ms.</summary>
    public static ChaosOptions Heavy { get; } = new("heavy", 0.05, 0.2, TimeSpan.FromMilliseconds(100));

    /// <summary>Only delays (no cancels): 20% delays of up to 50 ms; shakes out timing assumptions.</summary>
    public static ChaosOptions DelaysOnly { get; } = new("delays", 0, 0.2, TimeSpan.FromMilliseconds(50));

    /// <summary>
    /// Network chaos: the <see cref="Light"/> cancels and delays plus I/O faults on the virtual network — 2% resets per
    /// write, 20% short reads, 1% writes cut partway, 5% accept failures, 5% refused and 2% timed-out connects, and 5% of
    /// <see cref="ObligationKind.IoOp"/> operations of the bridges failing before their effect.
    /// </summary>
    public static ChaosOptions Network { get; } = new("network", 0.01, 0.05, TimeSpan.FromMilliseconds(10))
    {
        ResetProbability = 0.02,
        ShortReadProbability = 0.2,
        ShortWriteProbability = 0.01,
        AcceptFailureProbability = 0.05,
        RefuseProbability = 0.05,
        ConnectTimeoutProbability = 0.02,
        IoOpFailureProbability = 0.05,
    };

    /// <summary>True when some fault can be injected.</summary>
    public bool IsEnabled => CancelProbability > 0 || (DelayProbability > 0 && MaxDelay > TimeSpan.Zero) || HasIoFaults;

    /// <summary>The preset with the given name (none, light, heavy, delays, network).</summary>
    /// <param name="name">A preset name.</param>
    /// <returns>The preset.</returns>
    public static ChaosOptions Preset(string name) => name.ToLowerInvariant() switch
    {
        "none" => None,
        "light" => Light,
        "heavy" => Heavy,
        "delays" => DelaysOnly,
        "network" => Network,
        _ => throw new ArgumentException($"Unknown chaos preset '{name}' (none, light, heavy, delays, network).", nameof(name)),
    };
}
