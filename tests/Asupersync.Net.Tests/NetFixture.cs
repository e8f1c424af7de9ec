using System.Net;
using Asupersync.Net;

namespace Asupersync.Net.Tests;

/// <summary>Which network a scenario runs on: real loopback sockets, or the virtual network with a seed.</summary>
public sealed record NetKind(string Name, VirtualNetworkOptions? Virtual)
{
    public static NetKind Real { get; } = new("real", null);

    public static NetKind Seeded(ulong seed) => new($"virtual-{seed}", new VirtualNetworkOptions
    {
        Seed = seed,
        MaxLatency = TimeSpan.FromMilliseconds(2),
        MaxSegmentSize = 7 + (int)(seed % 50),
        BufferSize = 1024, // a message must fit: the echo client writes it all before reading (as over real TCP)
    });

    /// <summary>Latency of zero or one tick: half the segments are delivered at once, half on timers (ordering).</summary>
    public static NetKind Jitter { get; } = new("virtual-jitter", new VirtualNetworkOptions
    {
        Seed = 99,
        MaxLatency = TimeSpan.FromTicks(1),
        MaxSegmentSize = 16,
        BufferSize = 1024,
    });

    public override string ToString() => Name;
}

internal static class NetFixture
{
    internal static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    internal static Runtime NewRuntime(NetKind kind)
    {
        var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        if (kind.Virtual is not null) VirtualNetwork.Install(rt, kind.Virtual);
        return rt;
    }

    internal static async Task<Outcome<T>> RunBounded<T>(Runtime rt, Func<Cx, Task<T>> body) =>
        await rt.RunAsync(body).WaitAsync(TestTimeout);

    internal static async Task<Outcome<Unit>> RunBounded(Runtime rt, Func<Cx, Task> body) =>
        await rt.RunAsync(body).WaitAsync(TestTimeout);

    /// <summary>Reads exactly <paramref name="n"/> bytes or fails.</summary>
    internal static async Task<byte[]> ReadExactly(Cx cx, TcpStream s, int n)
    {
        var buf = new byte[n];
        int got = 0;
        while (got < n)
        {
            int r = await s.ReadAsync(cx, buf.AsMemory(got));
            if (r == 0) throw new EndOfStreamException($"EOF after {got} of {n} bytes");
            got += r;
        }
        return buf;
    }

    internal static async Task<byte[]> ReadToEnd(Cx cx, TcpStream s)
    {
        var ms = new MemoryStream();
        var buf = new byte[4096];
        int r;
        while ((r = await s.ReadAsync(cx, buf)) > 0) ms.Write(buf, 0, r);
        return ms.ToArray();
    }

    /// <summary>An echo connection handler: echoes until EOF, then half-closes.</summary>
    internal static async Task Echo(Cx cx, TcpStream s)
    {
        await using var _ = s;
        var buf = new byte[4096];
        int n;
        while ((n = await s.ReadAsync(cx, buf)) > 0) await s.WriteAsync(cx, buf.AsMemory(0, n));
        await s.ShutdownAsync(cx);
    }

    internal static IPEndPoint Loopback0 => new(IPAddress.Loopback, 0);
}
