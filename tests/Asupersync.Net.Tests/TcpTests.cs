using System.Net;
using System.Text;
using Asupersync.Net;
using static Asupersync.Net.Tests.NetFixture;

namespace Asupersync.Net.Tests;

public class TcpTests
{
    public static TheoryData<NetKind> Nets => new() { NetKind.Real, NetKind.Seeded(1), NetKind.Seeded(2), NetKind.Seeded(3), NetKind.Seeded(42), NetKind.Seeded(977), NetKind.Jitter };

    /// <summary>The DESIGN §1 shape: a listener task owns a region of connections; cancelling it drains them.</summary>
    private static async Task<T> WithEchoServer<T>(Cx cx, Func<Cx, IPEndPoint, Task<T>> client)
    {
        var bound = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = cx.Spawn("listener", async cx =>
        {
            await using var l = await cx.TcpBindAsync("127.0.0.1:0");
            bound.SetResult(l.LocalEndPoint);
            await cx.RegionAsync("conns", async cx =>
            {
                while (true)
                {
                    var (stream, _) = await l.AcceptAsync(cx);
                    cx.Spawn("conn", cx => Echo(cx, stream));
                }
            });
        });
        var ep = await cx.AwaitAsync(bound.Task);
        try
        {
            return await client(cx, ep);
        }
        finally
        {
            listener.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)), "test done");
            await listener.JoinAsync(cx);
        }
    }

    [Theory]
    [MemberData(nameof(Nets))]
    public async Task Echo_RoundTrips(NetKind net)
    {
        await using var rt = NewRuntime(net);
        var o = await RunBounded(rt, cx => WithEchoServer(cx, async (cx, ep) =>
        {
            await using var c = await cx.TcpConnectAsync(ep, TimeSpan.FromSeconds(5));
            for (int i = 0; i < 20; i++)
            {
                var msg = Encoding.ASCII.GetBytes($"hello {i} " + new string('x', i * 37));
                await c.WriteAsync(cx, msg);
                var back = await ReadExactly(cx, c, msg.Length);
                Assert.Equal(msg, back);
            }
            return 0;
        }));
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(0, rt.Diagnostics.ObligationsLeaked);
    }

    [Theory]
    [MemberData(nameof(Nets))]
    public async Task Echo_LargePayloadAndHalfClose(NetKind net)
    {
        await using var rt = NewRuntime(net);
        var payload = new byte[200_000];
        new Random(5).NextBytes(payload);
        var o = await RunBounded(rt, cx => WithEchoServer(cx, async (cx, ep) =>
        {
            await using var c = await cx.TcpConnectAsync(ep);
            var reader = cx.Spawn("reader", cx => ReadToEnd(cx, c));
            await c.WriteAsync(cx, payload);
            await c.ShutdownAsync(cx);
            return await reader.ValueAsync(cx);
        }));
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(payload, o.Value);
    }

    [Theory]
    [MemberData(nameof(Nets))]
    public async Task ManyClients_Concurrently(NetKind net)
    {
        await using var rt = NewRuntime(net);
        var o = await RunBounded(rt, cx => WithEchoServer(cx, async (cx, ep) =>
        {
            var clients = Enumerable.Range(0, 16).Select(i => cx.Spawn($"client{i}", async cx =>
            {
                await using var c = await cx.TcpConnectAsync(ep);
                var msg = Encoding.ASCII.GetBytes($"client {i}");
                await c.WriteAsync(cx, msg);
                return Encoding.ASCII.GetString(await ReadExactly(cx, c, msg.Length));
            })).ToList();
            var results = new List<string>();
            foreach (var c in clients) results.Add(await c.ValueAsync(cx));
            return results;
        }));
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(Enumerable.Range(0, 16).Select(i => $"client {i}"), o.Value);
    }

    [Theory]
    [MemberData(nameof(Nets))]
    public async Task ClientDisconnectsMidStream_ServerConnectionEnds(NetKind net)
    {
        await using var rt = NewRuntime(net);
        var o = await RunBounded(rt, async cx =>
        {
            await using var l = await cx.TcpBindAsync(Loopback0);
            var server = cx.Spawn("server", async cx =>
            {
                var (s, _) = await l.AcceptAsync(cx);
                await using var _ = s;
                var buf = new byte[100];
                int total = 0, n;
                try
                {
                    while ((n = await s.ReadAsync(cx, buf)) > 0) total += n;
                }
                catch (IOException)
                {
                    return -1; // reset: also a clean end
                }
                return total;
            });
            var c = await cx.TcpConnectAsync(l.LocalEndPoint);
            await c.WriteAsync(cx, new byte[10]);
            c.Abort("client gave up");
            Assert.True(c.IsAborted);
            Assert.Equal("client gave up", c.CloseReason);
            c.Close("second reason ignored");
            Assert.Equal("client gave up", c.CloseReason);
            var r = await server.JoinAsync(cx);
            return r.Value;
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.True(o.Value is -1 or 10, $"server saw {o.Value}");
    }

    [Theory]
    [MemberData(nameof(Nets))]
    public async Task CancelledRead_ConsumesNothing(NetKind net)
    {
        await using var rt = NewRuntime(net);
        var o = await RunBounded(rt, async cx =>
        {
            await using var l = await cx.TcpBindAsync(Loopback0);
            await using var c = await cx.TcpConnectAsync(l.LocalEndPoint);
            var (s, _) = await l.AcceptAsync(cx);
            await using var _ = s;
            var reader = cx.Spawn("reader", async cx =>
            {
                var buf = new byte[16];
                return await s.ReadAsync(cx, buf);
            });
            await cx.SleepAsync(TimeSpan.FromMilliseconds(30));
            reader.Cancel(message: "stop reading");
            var ro = await reader.JoinAsync(cx);
            Assert.True(ro.IsCancelled, ro.ToString());
            await c.WriteAsync(cx, Encoding.ASCII.GetBytes("kept"));
            return Encoding.ASCII.GetString(await ReadExactly(cx, s, 4));
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal("kept", o.Value);
    }

    [Theory]
    [MemberData(nameof(Nets))]
    public async Task CancelledAccept_LosesNoConnection(NetKind net)
    {
        await using var rt = NewRuntime(net);
        var o = await RunBounded(rt, async cx =>
        {
            await using var l = await cx.TcpBindAsync(Loopback0);
            var acceptor = cx.Spawn("acceptor", async cx => { var (s, _) = await l.AcceptAsync(cx); s.Dispose(); });
            await cx.SleepAsync(TimeSpan.FromMilliseconds(30));
            acceptor.Cancel();
            Assert.True((await acceptor.JoinAsync(cx)).IsCancelled);
            await using var c = await cx.TcpConnectAsync(l.LocalEndPoint);
            var (s, remote) = await l.AcceptAsync(cx);
            await using var _ = s;
            Assert.Equal(c.LocalEndPoint.Port, remote.Port);
            await c.WriteAsync(cx, "hi"u8.ToArray());
            return Encoding.ASCII.GetString(await ReadExactly(cx, s, 2));
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal("hi", o.Value);
    }

    [Theory]
    [MemberData(nameof(Nets))]
    public async Task Connect_Refused_IsIOException(NetKind net)
    {
        await using var rt = NewRuntime(net);
        var o = await RunBounded(rt, async cx =>
        {
            IPEndPoint ep;
            await using (var l = await cx.TcpBindAsync(Loopback0)) ep = l.LocalEndPoint;
            await Assert.ThrowsAsync<IOException>(async () => await cx.TcpConnectAsync(ep, TimeSpan.FromSeconds(5)));
        });
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task Connect_TimesOut_OnVirtualLatency()
    {
        await using var rt = NewRuntime(new NetKind("slow", new VirtualNetworkOptions { Seed = 1, MinLatency = TimeSpan.FromSeconds(10), MaxLatency = TimeSpan.FromSeconds(10) }));
        var o = await RunBounded(rt, async cx =>
        {
            await using var l = await cx.TcpBindAsync(Loopback0);
            await Assert.ThrowsAsync<TimeoutException>(async () => await cx.TcpConnectAsync(l.LocalEndPoint, TimeSpan.FromMilliseconds(50)));
        });
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task Connect_CancelledWhileConnecting_IsCancelled()
    {
        await using var rt = NewRuntime(new NetKind("slow", new VirtualNetworkOptions { Seed = 1, MinLatency = TimeSpan.FromSeconds(10), MaxLatency = TimeSpan.FromSeconds(10) }));
        var o = await RunBounded(rt, async cx =>
        {
            await using var l = await cx.TcpBindAsync(Loopback0);
            var h = cx.Spawn("connector", async cx => { await using var c = await cx.TcpConnectAsync(l.LocalEndPoint); });
            await cx.SleepAsync(TimeSpan.FromMilliseconds(20));
            h.Cancel();
            return (await h.JoinAsync(cx)).Kind;
        });
        Assert.Equal(OutcomeKind.Cancelled, o.Value);
    }

    [Fact]
    public async Task Io_RequiresCapability()
    {
        await using var rt = NewRuntime(NetKind.Real);
        var o = await RunBounded(rt, async cx =>
        {
            var narrow = cx.Narrow(Capabilities.All & ~Capabilities.IO);
            await Assert.ThrowsAsync<CapabilityException>(async () => await narrow.TcpBindAsync("127.0.0.1:0"));
        });
        Assert.True(o.IsOk, o.ToString());
    }

    [Theory]
    [MemberData(nameof(Nets))]
    public async Task ListenerCancel_DrainsConnections_NoLeak(NetKind net)
    {
        await using var rt = NewRuntime(net);
        var o = await RunBounded(rt, async cx =>
        {
            var bound = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
            int drained = 0;
            var listener = cx.Spawn("listener", async cx =>
            {
                await using var l = await cx.TcpBindAsync("127.0.0.1:0");
                bound.SetResult(l.LocalEndPoint);
                await cx.RegionAsync("conns", async cx =>
                {
                    while (true)
                    {
                        var (stream, _) = await l.AcceptAsync(cx);
                        cx.Spawn("conn", async cx =>
                        {
                            await using var s = stream;
                            try
                            {
                                var buf = new byte[64];
                                while (await s.ReadAsync(cx, buf) > 0) { }
                            }
                            finally
                            {
                                // draining: a goodbye still goes out after the cancel was raised
                                await s.WriteAsync(cx, "bye"u8.ToArray());
                                Interlocked.Increment(ref drained);
                            }
                        });
                    }
                });
            });
            var ep = await cx.AwaitAsync(bound.Task);
            var clients = new List<TcpStream>();
            for (int i = 0; i < 5; i++) clients.Add(await cx.TcpConnectAsync(ep));
            await cx.SleepAsync(TimeSpan.FromMilliseconds(50));
            listener.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)), "shutdown");
            var lo = await listener.JoinAsync(cx);
            var byes = new List<string>();
            foreach (var c in clients)
            {
                byes.Add(Encoding.ASCII.GetString(await ReadToEnd(cx, c)));
                c.Dispose();
            }
            return (lo.Kind, drained, byes);
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(OutcomeKind.Cancelled, o.Value.Kind);
        Assert.Equal(5, o.Value.drained);
        Assert.All(o.Value.byes, b => Assert.Equal("bye", b));
        Assert.Equal(0, rt.Diagnostics.ObligationsLeaked);
        Assert.Equal(0, rt.Diagnostics.BudgetOverruns);
    }
}
