using System.Net;
using System.Text;
using Asupersync.Lab;
using static Asupersync.Net.Tests.NetFixture;

namespace Asupersync.Net.Tests;

/// <summary>The same echo server under the Lab's deterministic driver, over the virtual network.</summary>
public class LabNetworkTests
{
    private static readonly VirtualNetworkOptions Net = new()
    {
        MaxLatency = TimeSpan.FromMilliseconds(5),
        MaxSegmentSize = 11,
        BufferSize = 512,
    };

    /// <summary>Echo server (DESIGN §1 shape) plus three clients; the network draws its entropy from the Lab's seed.</summary>
    private static async Task EchoProgram(Cx cx)
    {
        VirtualNetwork.Install(cx.Task.Runtime, Net);
        var bound = new TaskCompletionSource<IPEndPoint>();
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
        await cx.YieldAsync();
        while (!bound.Task.IsCompleted) await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
        var ep = bound.Task.Result;
        var clients = Enumerable.Range(0, 3).Select(i => cx.Spawn($"client{i}", async cx =>
        {
            await using var c = await cx.TcpConnectAsync(ep, TimeSpan.FromSeconds(5));
            for (int k = 0; k < 3; k++)
            {
                var msg = Encoding.ASCII.GetBytes($"client {i} message {k} " + new string('#', 40 * k));
                await c.WriteAsync(cx, msg);
                var back = await ReadExactly(cx, c, msg.Length);
                if (!back.AsSpan().SequenceEqual(msg)) throw new InvalidOperationException("echo mismatch");
            }
        })).ToList();
        foreach (var c in clients)
        {
            var o = await c.JoinAsync(cx);
            if (!o.IsOk) throw new InvalidOperationException($"client ended {o}");
        }
        listener.Cancel(Budget.Timeout(TimeSpan.FromSeconds(1)), "done");
        await listener.JoinAsync(cx);
    }

    [Fact]
    public void Echo_UnderLab_AcrossSeeds_NoOracleFires()
    {
        var last = LabTest.ForSeeds(12, EchoProgram);
        Assert.True(last.Passed, last.Describe());
        Assert.True(last.VirtualTime > TimeSpan.Zero);
    }

    /// <summary>Seeded resets and refusals: every client either completes or sees an IOException; nothing hangs or leaks.</summary>
    private static async Task FaultyProgram(Cx cx)
    {
        VirtualNetwork.Install(cx.Task.Runtime, Net with { ResetProbability = 0.05, RefuseProbability = 0.2 });
        var bound = new TaskCompletionSource<IPEndPoint>();
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
                        try
                        {
                            await Echo(cx, stream);
                        }
                        catch (IOException)
                        {
                            // reset by the chaos: this connection is over
                        }
                    });
                }
            });
        });
        while (!bound.Task.IsCompleted) await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
        var ep = bound.Task.Result;
        var clients = Enumerable.Range(0, 4).Select(i => cx.Spawn($"client{i}", async cx =>
        {
            try
            {
                await using var c = await cx.TcpConnectAsync(ep, TimeSpan.FromSeconds(5));
                var msg = Encoding.ASCII.GetBytes(new string((char)('a' + i), 60));
                await c.WriteAsync(cx, msg);
                var back = await ReadExactly(cx, c, msg.Length);
                return back.AsSpan().SequenceEqual(msg) ? 1 : -1;
            }
            catch (Exception e) when (e is IOException or EndOfStreamException)
            {
                return 0;
            }
        })).ToList();
        foreach (var c in clients)
        {
            var o = await c.JoinAsync(cx);
            if (!o.IsOk || o.Value < 0) throw new InvalidOperationException($"client ended {o}");
        }
        listener.Cancel(Budget.Timeout(TimeSpan.FromSeconds(1)), "done");
        await listener.JoinAsync(cx);
    }

    [Fact]
    public void FaultyNetwork_UnderLab_NoHangNoLeak()
    {
        var last = LabTest.ForSeeds(16, FaultyProgram);
        Assert.True(last.Passed, last.Describe());
    }

    [Fact]
    public void Echo_UnderLab_SameSeedSameTrace()
    {
        var a = LabRuntime.Run(7, EchoProgram);
        var b = LabRuntime.Run(7, EchoProgram);
        Assert.True(a.Passed, a.Describe());
        Assert.Equal(a.Trace.Hash, b.Trace.Hash);
        Assert.Equal(a.Steps, b.Steps);
        var replay = LabRuntime.Replay(a.Trace, EchoProgram);
        Assert.True(replay.Passed, replay.Describe());
    }
}
