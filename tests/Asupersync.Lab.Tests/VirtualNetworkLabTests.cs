using System.Text;
using Asupersync.Lab;
using Asupersync.Lab.Exploration;
using Asupersync.Net;

namespace Asupersync.Lab.Tests;

/// <summary>The virtual network (Asupersync.Net) under the Lab: same seed, same run, with virtual latency.</summary>
public class VirtualNetworkLabTests
{
    private static readonly LabOptions WithNetwork = new()
    {
        ConfigureRuntime = rt => VirtualNetwork.Install(rt, new VirtualNetworkOptions { MinLatency = TimeSpan.FromMilliseconds(1), MaxLatency = TimeSpan.FromMilliseconds(5), MaxSegmentSize = 3 }),
    };

    private static async Task EchoOnce(Cx cx)
    {
        await using var listener = await cx.TcpBindAsync("127.0.0.1:7000");
        var server = cx.Spawn("server", async cx =>
        {
            var (stream, _) = await listener.AcceptAsync(cx);
            await using (stream)
            {
                var buf = new byte[64];
                int total = 0;
                while (total < 9)
                {
                    int n = await stream.ReadAsync(cx, buf.AsMemory(total));
                    if (n == 0) break;
                    total += n;
                }
                await stream.WriteAsync(cx, buf.AsMemory(0, total));
            }
        });
        var client = cx.Spawn("client", async cx =>
        {
            await using var s = await cx.TcpConnectAsync("127.0.0.1:7000");
            await s.WriteAsync(cx, Encoding.ASCII.GetBytes("ping-pong"));
            var buf = new byte[64];
            int total = 0;
            while (total < 9)
            {
                int n = await s.ReadAsync(cx, buf.AsMemory(total));
                if (n == 0) break;
                total += n;
            }
            if (Encoding.ASCII.GetString(buf, 0, total) != "ping-pong") throw new InvalidOperationException("echo mismatch");
        });
        await server.JoinAsync(cx);
        await client.JoinAsync(cx);
    }

    [Fact]
    public void Echo_RunsOverVirtualNetwork_InVirtualTime_AndReplays()
    {
        var a = LabRuntime.Run(5, EchoOnce, WithNetwork);
        Assert.True(a.Passed, a.Describe());
        Assert.True(a.VirtualTime > TimeSpan.Zero);                 // latency was simulated on the virtual clock
        var b = LabRuntime.Run(5, EchoOnce, WithNetwork);
        Assert.True(a.Trace.SameAs(b.Trace));
        var replay = LabRuntime.Replay(a.Trace, EchoOnce, WithNetwork);
        Assert.True(replay.Passed, replay.Describe());
    }

    [Fact]
    public void Echo_IsCleanAcrossSeedsAndRandomSchedules()
    {
        LabTest.ForSeeds(30, EchoOnce, WithNetwork);
        var r = LabRuntime.Explore(EchoOnce, new ExploreOptions { Strategy = ExploreStrategy.Pct, MaxSchedules = 30, Lab = WithNetwork });
        Assert.True(r.FirstFailure is null, r.Describe());
    }
}
