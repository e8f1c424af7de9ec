using System.Net;
using System.Text;
using Asupersync.Lab;
using Asupersync.Net;

namespace Asupersync.Http.Tests;

/// <summary>The HTTP server under the Lab's deterministic driver and virtual network: requests, then a shutdown with one in flight.</summary>
public class LabHttpTests
{
    private static async Task Program(Cx cx)
    {
        VirtualNetwork.Install(cx.Task.Runtime, new VirtualNetworkOptions { MaxLatency = TimeSpan.FromMilliseconds(3), MaxSegmentSize = 13 });
        var server = new HttpServer(ServerFixture.DefaultRouter(), new HttpServerOptions { DrainTimeout = TimeSpan.FromSeconds(1) });
        IPEndPoint? ep = null;
        var serve = cx.Spawn("http", async cx =>
        {
            var l = await cx.TcpBindAsync("127.0.0.1:0");
            ep = l.LocalEndPoint;
            await server.ServeAsync(cx, l);
        });
        while (ep is null) await cx.SleepAsync(TimeSpan.FromMilliseconds(1));

        await using (var c = await HttpClientConnection.ConnectAsync(cx, ep.ToString()))
        {
            for (int i = 0; i < 3; i++)
            {
                var r = await c.SendAsync(cx, "POST", "/echo", Encoding.UTF8.GetBytes($"lab {i}"), chunked: i == 1);
                if (r.Status != 200 || r.BodyText() != $"lab {i}") throw new InvalidOperationException($"bad response {r.Status} {r.BodyText()}");
            }
        }
        var slow = cx.Spawn("slow-client", async cx =>
        {
            await using var c = await HttpClientConnection.ConnectAsync(cx, ep.ToString());
            try
            {
                return (await c.SendAsync(cx, "GET", "/slow")).Status;
            }
            catch (IOException)
            {
                return 0;
            }
        });
        await cx.SleepAsync(TimeSpan.FromMilliseconds(50));
        serve.Cancel(Budget.Timeout(TimeSpan.FromSeconds(2)), "shutdown");
        await serve.JoinAsync(cx);
        var status = (await slow.JoinAsync(cx)).Value;
        // Draining drains: the in-flight request (300 ms, well within the 2 s budget) finishes with its 200.
        if (status != 200) throw new InvalidOperationException($"in-flight request got {status}");
        if (server.Phase != HttpServerPhase.Stopped || server.ActiveConnections != 0) throw new InvalidOperationException($"server {server.Phase}, {server.ActiveConnections} connections");
    }

    [Fact]
    public void Server_UnderLab_AcrossSeeds_NoOracleFires()
    {
        var last = LabTest.ForSeeds(10, Program);
        Assert.True(last.Passed, last.Describe());
    }

    [Fact]
    public void Server_UnderLab_Replays()
    {
        var a = LabRuntime.Run(3, Program);
        Assert.True(a.Passed, a.Describe());
        Assert.Equal(a.Trace.Hash, LabRuntime.Run(3, Program).Trace.Hash);
    }
}
