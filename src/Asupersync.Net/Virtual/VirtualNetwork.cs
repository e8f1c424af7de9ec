using System.Net;
using System.Net.Sockets;
using Asupersync.Kernel;
using Asupersync.Net.Virtual;

namespace Asupersync.Net;

/// <summary>Settings of a <see cref="VirtualNetwork"/>: seeded latency, segmentation, buffer sizes and faults.</summary>
public sealed record VirtualNetworkOptions
{
    /// <summary>
    /// Seed of the network's own generator. Null (default) draws from the runtime's entropy, so under the Lab
    /// the Lab's seed governs the network too.
    /// </summary>
    public ulong? Seed { get; init; }

    /// <summary>Smallest one-way latency of a segment (default zero).</summary>
    public TimeSpan MinLatency { get; init; }

    /// <summary>Largest one-way latency of a segment (default zero: delivery at once).</summary>
    public TimeSpan MaxLatency { get; init; }

    /// <summary>Largest segment a write is split into; reads see at most this much per arrival (default 1460).</summary>
    public int MaxSegmentSize { get; init; } = 1460;

    /// <summary>Bytes buffered or in flight per direction before a writer waits (default 64 KiB).</summary>
    public int BufferSize { get; init; } = 64 * 1024;

    /// <summary>Probability that a write resets the connection (default 0).</summary>
    public double ResetProbability { get; init; }

    /// <summary>Probability that a connect is refused even though a listener exists (default 0).</summary>
    public double RefuseProbability { get; init; }
}

/// <summary>
/// An in-memory TCP network behind the same API as real sockets (<see cref="TcpListener"/>,
/// <see cref="TcpStream"/>): install it on a runtime and the same server and client code runs without sockets,
/// with seeded latency, segmentation and faults.
/// </summary>
/// <remarks>
/// It is deterministic given the order in which tasks act: it uses only the runtime's timers, its entropy (or
/// its own seeded generator, <see cref="VirtualNetworkOptions.Seed"/>) and kernel waits — never threads,
/// wall-clock time or real I/O. Under the Lab's driver a seed therefore replays a run exactly; under the
/// production runtime it is a fast, fault-injecting loopback.
/// </remarks>
/// <example><code>
/// await using var rt = Runtime.Create();
/// VirtualNetwork.Install(rt, new VirtualNetworkOptions { Seed = 7, MaxLatency = TimeSpan.FromMilliseconds(2) });
/// await rt.RunAsync(async cx => { await using var l = await cx.TcpBindAsync("127.0.0.1:0"); /* … */ });
/// </code></example>
public sealed class VirtualNetwork : INetworkProvider
{
    private readonly object _gate = new();
    private readonly Dictionary<IPEndPoint, VirtualListenerTransport> _listeners = new();
    private readonly HashSet<IPEndPoint> _inUse = new();
    private ulong _rng;
    private int _nextPort = 49152;
    private long _connections;
    private long _open;
    private readonly IIoFaultSource? _faults;

    private VirtualNetwork(RuntimeCore runtime, VirtualNetworkOptions options)
    {
        Runtime = runtime;
        Options = options;
        if (options.MaxSegmentSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), "MaxSegmentSize must be positive.");
        if (options.BufferSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), "BufferSize must be positive.");
        if (options.MaxLatency < options.MinLatency) throw new ArgumentOutOfRangeException(nameof(options), "MaxLatency must be at least MinLatency.");
        _rng = options.Seed ?? 0;
        _faults = runtime.GetService<IIoFaultSource>();
    }

    internal RuntimeCore Runtime { get; }

    /// <summary>The settings.</summary>
    public VirtualNetworkOptions Options { get; }

    /// <summary>Connections established so far.</summary>
    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>Connections established and not yet closed or aborted at both ends (0 once every end was closed: nothing leaked).</summary>
    public long OpenConnections => Interlocked.Read(ref _open);

    /// <summary>Installs a virtual network as the runtime's network: every TCP operation of its tasks then uses it.</summary>
    /// <param name="runtime">The runtime; install before its tasks use the network.</param>
    /// <param name="options">Latency, segmentation and faults; null for an instant, reliable network.</param>
    /// <returns>The network.</returns>
    public static VirtualNetwork Install(Runtime runtime, VirtualNetworkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        return Install(runtime.Core, options);
    }

    /// <summary>Installs a virtual network on a kernel directly (the Lab's entry point: its driver owns the core).</summary>
    internal static VirtualNetwork Install(RuntimeCore core, VirtualNetworkOptions? options = null)
    {
        var net = new VirtualNetwork(core, options ?? new VirtualNetworkOptions());
        core.SetService<INetworkProvider>(net);
        return net;
    }

    // ---------------------------------------------------------------- entropy

    private ulong NextRandom()
    {
        if (Options.Seed is null) return Runtime.Driver.NextRandom();
        lock (_gate)
        {
            // SplitMix64: nearby seeds give unrelated streams.
            ulong z = _rng += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    internal int Draw(int maxExclusive) => maxExclusive <= 1 ? 0 : (int)(NextRandom() % (ulong)maxExclusive);

    internal bool DrawFault(double p) => p > 0 && (NextRandom() >> 11) * (1.0 / (1UL << 53)) < p;

    /// <summary>Whether the Lab's chaos (a runtime <see cref="IIoFaultSource"/>) injects <paramref name="fault"/> at this operation.</summary>
    internal bool Chaos(IoFault fault, Cx? cx, string site) => _faults is { } f && f.Inject(fault, cx?.Task, site);

    /// <summary>A value in [0, <paramref name="maxExclusive"/>) from the chaos stream (or the network's own).</summary>
    internal int DrawChaos(int maxExclusive) => _faults is { } f ? f.Draw(maxExclusive) : Draw(maxExclusive);

    internal TimeSpan DrawLatency()
    {
        var span = Options.MaxLatency - Options.MinLatency;
        if (span <= TimeSpan.Zero) return Options.MinLatency;
        return Options.MinLatency + TimeSpan.FromTicks((long)(NextRandom() % (ulong)(span.Ticks + 1)));
    }

    // ---------------------------------------------------------------- provider

    IListenerTransport INetworkProvider.Bind(Cx cx, IPEndPoint endPoint, int backlog)
    {
        lock (_gate)
        {
            var ep = endPoint.Port == 0 ? AllocateLocked(endPoint.Address) : endPoint;
            if (_listeners.ContainsKey(ep) || _inUse.Contains(ep)) throw new SocketException((int)SocketError.AddressAlreadyInUse);
            var l = new VirtualListenerTransport(this, ep, backlog);
            _listeners.Add(ep, l);
            _inUse.Add(ep);
            return l;
        }
    }

    private IPEndPoint AllocateLocked(IPAddress address)
    {
        for (int i = 0; i < 16384; i++)
        {
            int port = _nextPort;
            _nextPort = _nextPort >= 65535 ? 49152 : _nextPort + 1;
            var ep = new IPEndPoint(address, port);
            if (!_inUse.Contains(ep)) return ep;
        }
        throw new SocketException((int)SocketError.AddressAlreadyInUse);
    }

    internal void Unbind(VirtualListenerTransport l)
    {
        lock (_gate)
        {
            _listeners.Remove(l.LocalEndPoint);
            _inUse.Remove(l.LocalEndPoint);
        }
    }

    async ValueTask<IStreamTransport> INetworkProvider.ConnectAsync(Cx cx, IPEndPoint endPoint, TimeSpan? timeout)
    {
        // Chaos: no answer to the SYN until the timeout (the OS's 127 s when the caller set none).
        if (Chaos(IoFault.ConnectTimeout, cx, $"connect {endPoint}"))
        {
            await SleepOp.Start(cx.Task, Runtime.Now + (timeout ?? TimeSpan.FromSeconds(127)));
            throw new TimeoutException("The TCP connect attempt timed out.");
        }
        // The SYN travels: one seeded latency, bounded by the timeout.
        var latency = DrawLatency();
        if (timeout is { } t && latency > t)
        {
            await SleepOp.Start(cx.Task, Runtime.Now + t);
            throw new TimeoutException("The TCP connect attempt timed out.");
        }
        if (latency > TimeSpan.Zero) await SleepOp.Start(cx.Task, Runtime.Now + latency);

        VirtualListenerTransport? listener;
        IPEndPoint local;
        lock (_gate)
        {
            if (!_listeners.TryGetValue(endPoint, out listener) && (endPoint.Address.Equals(IPAddress.Loopback) || endPoint.Address.Equals(IPAddress.IPv6Loopback)))
            {
                _listeners.TryGetValue(new IPEndPoint(endPoint.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, endPoint.Port), out listener);
            }
            var localAddr = endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
            local = AllocateLocked(localAddr);
            if (listener is not null) _inUse.Add(local);
        }
        if (listener is null || DrawFault(Options.RefuseProbability) || Chaos(IoFault.ConnectRefused, cx, $"connect {endPoint}"))
        {
            if (listener is not null) Release(local);
            throw new IOException("Connection refused.", new SocketException((int)SocketError.ConnectionRefused));
        }
        var c2s = new VirtualPipe(this);
        var s2c = new VirtualPipe(this);
        int ends = 2;
        void OnEndClosed()
        {
            if (Interlocked.Decrement(ref ends) == 0)
            {
                Release(local);
                Interlocked.Decrement(ref _open);
            }
        }
        var serverEnd = new VirtualStreamTransport(c2s, s2c, listener.LocalEndPoint, local, OnEndClosed);
        var clientEnd = new VirtualStreamTransport(s2c, c2s, local, endPoint, OnEndClosed);
        Interlocked.Increment(ref _open);
        if (!listener.Offer(serverEnd))
        {
            Interlocked.Decrement(ref _open);
            Release(local);
            throw new IOException("Connection refused.", new SocketException((int)SocketError.ConnectionRefused));
        }
        Interlocked.Increment(ref _connections);
        return clientEnd;
    }

    private void Release(IPEndPoint local)
    {
        lock (_gate) _inUse.Remove(local);
    }
}
