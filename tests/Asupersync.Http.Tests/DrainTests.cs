using System.Net.Sockets;
using System.Text;
using Asupersync.Http;
using Asupersync.Lab;
using static Asupersync.Http.Tests.RawClient;

namespace Asupersync.Http.Tests;

/// <summary>
/// Draining drains (issue 9, items 7, 9, 11 and 8's MaxConnections): in-flight handlers finish and their responses
/// are sent with <c>Connection: close</c>; only the end of the drain cancels; a returned response is never replaced;
/// a peer that stops reading is cut; every response is counted.
/// </summary>
public class DrainTests
{
    private static HttpRouter Router() => ServerFixture.DefaultRouter()
        .MapGet("/sleep1s", async (cx, r) =>
        {
            await cx.SleepAsync(TimeSpan.FromSeconds(1));
            return HttpResponse.Text("slept");
        })
        .MapGet("/stubborn", async (cx, r) =>
        {
            try
            {
                await cx.SleepAsync(TimeSpan.FromSeconds(60));
                return HttpResponse.Text("never");
            }
            catch (OperationCanceledException)
            {
                return HttpResponse.Text("finished anyway"); // the handler's committed effect
            }
        })
        .MapGet("/forever", async (cx, r) =>
        {
            await cx.SleepAsync(TimeSpan.FromSeconds(60));
            return HttpResponse.Text("never");
        })
        .MapGet("/huge", (cx, r) => Task.FromResult(HttpResponse.Bytes(new byte[64 * 1024 * 1024])));

    private static async Task<Socket> StartRequestAsync(ServerFixture f, string target)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(f.EndPoint);
        await s.SendAsync(Ascii($"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"));
        return s;
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        for (int i = 0; i < 3000 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), what);
    }

    [Fact]
    public async Task Drain_InFlightHandler_Finishes_AndIsAnsweredWithClose()
    {
        await using var f = await ServerFixture.StartAsync(new HttpServerOptions { DrainTimeout = TimeSpan.FromSeconds(20) }, handler: Router());
        using var s = await StartRequestAsync(f, "/sleep1s");
        await WaitForAsync(() => f.Server.ActiveConnections == 1, "request not in flight");
        await Task.Delay(100);
        var stop = f.StopAsync(TimeSpan.FromSeconds(20));
        var r = await ReadAllAsync(s, ServerFixture.Bound);
        Assert.True(r.Status == 200, r.Text);
        Assert.Contains("slept", r.Text, StringComparison.Ordinal);
        Assert.Contains("Connection: close", r.Text, StringComparison.Ordinal);
        Assert.True((await stop).IsOk);
        Assert.Equal(1, f.Server.ConnectionsDrained);
    }

    [Fact]
    public async Task ForceClose_AResponseReturnedAfterTheCancel_IsTheOneSent()
    {
        await using var f = await ServerFixture.StartAsync(new HttpServerOptions { DrainTimeout = TimeSpan.FromMilliseconds(200) }, handler: Router());
        using var s = await StartRequestAsync(f, "/stubborn");
        await WaitForAsync(() => f.Server.ActiveConnections == 1, "request not in flight");
        await Task.Delay(100);
        var stop = f.StopAsync(TimeSpan.FromSeconds(20));
        var r = await ReadAllAsync(s, ServerFixture.Bound);
        Assert.True(r.Status == 200, r.Text);
        Assert.Contains("finished anyway", r.Text, StringComparison.Ordinal);
        await stop;
    }

    [Fact]
    public async Task ForceClose_AHandlerLongerThanTheDrain_IsCancelled_With503()
    {
        await using var f = await ServerFixture.StartAsync(new HttpServerOptions { DrainTimeout = TimeSpan.FromMilliseconds(300) }, handler: Router());
        using var s = await StartRequestAsync(f, "/forever");
        await WaitForAsync(() => f.Server.ActiveConnections == 1, "request not in flight");
        await Task.Delay(100);
        var stop = f.StopAsync(TimeSpan.FromSeconds(20));
        var r = await ReadAllAsync(s, ServerFixture.Bound);
        Assert.True(r.Status == 503, r.Text);
        await stop.WaitAsync(ServerFixture.Bound);
        Assert.Equal(HttpServerPhase.Stopped, f.Server.Phase);
        Assert.Equal(1, f.Server.ResponsesOfClass(5));
    }

    [Fact]
    public async Task WriteTimeout_APeerThatStopsReading_IsCut()
    {
        await using var f = await ServerFixture.StartAsync(new HttpServerOptions { WriteTimeout = TimeSpan.FromSeconds(1) }, handler: Router());
        using var s = await StartRequestAsync(f, "/huge"); // and never read
        await WaitForAsync(() => f.Server.ConnectionsAborted == 1, "a peer that never reads held its 64 MiB response");
        Assert.Equal(0, f.Server.ActiveConnections);
        Assert.Equal(200, (await SendAsync(f.EndPoint, Ascii("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))).Status);
    }

    [Fact]
    public async Task EveryResponseWritten_IsCounted_ByClass()
    {
        await using var f = await ServerFixture.StartAsync(new HttpServerOptions { HeaderReadTimeout = TimeSpan.FromMilliseconds(500), LingerTimeout = TimeSpan.FromMilliseconds(100) }, handler: Router());
        Assert.Equal(200, (await SendAsync(f.EndPoint, Ascii("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))).Status);
        Assert.Equal(400, (await SendAsync(f.EndPoint, Ascii("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"))).Status);
        Assert.Equal(413, (await SendAsync(f.EndPoint, Ascii("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"))).Status);
        Assert.Equal(408, (await SendAsync(f.EndPoint, Ascii("GET / HTTP/1.1\r\n"), TimeSpan.FromSeconds(20))).Status);
        Assert.Equal(404, (await SendAsync(f.EndPoint, Ascii("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))).Status);
        await WaitForAsync(() => f.Server.RequestsServed == 5, "responses missing from the count: " + f.Server.Summary());
        Assert.Equal(1, f.Server.ResponsesOfClass(2));
        Assert.Equal(4, f.Server.ResponsesOfClass(4));
        Assert.Contains("5 responses (2xx 1, 4xx 4)", f.Server.Summary(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxConnections_StopsAccepting_UntilOneEnds()
    {
        await using var f = await ServerFixture.StartAsync(new HttpServerOptions { MaxConnections = 1 }, handler: Router());
        using var first = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await first.ConnectAsync(f.EndPoint);
        await WaitForAsync(() => f.Server.ActiveConnections == 1, "first connection not served");
        using var second = await StartRequestAsync(f, "/"); // waits in the backlog
        var early = await ReadAllAsync(second, TimeSpan.FromSeconds(1));
        Assert.Null(early.Status);
        Assert.Equal(1, f.Server.ActiveConnections);
        first.Close();
        var r = await ReadAllAsync(second, TimeSpan.FromSeconds(5));
        Assert.True(r.Status == 200, r.Text);
    }

    [Fact]
    public void DefaultMaxConnections_KeepsAReserveOfDescriptors()
    {
        Assert.Equal(18_000, HttpServerOptions.MaxConnectionsFor(20_000));
        Assert.Equal(922, HttpServerOptions.MaxConnectionsFor(1024));
        Assert.Equal(10_000, HttpServerOptions.MaxConnectionsFor(null));
        Assert.True(HttpServerOptions.DefaultMaxConnections >= 16);
    }

    // ---------------------------------------------------------------- the kernel option, under the Lab

    /// <summary>
    /// A region with <see cref="RegionOptions.DeferOwnerCancel"/>: the owner's cancel (5 s budget, reserve 1 s) lets
    /// a 2 s task finish Ok and reaches a 60 s task at 4 s (virtual), which then drains within the budget.
    /// </summary>
    private static async Task DeferredRegion(Cx cx)
    {
        var rt = cx.Task.Runtime;
        TimeSpan? finishedAt = null, cancelledAt = null;
        Outcome<Unit> quick = default, slow = default;
        var owner = cx.Spawn("owner", cx => cx.RegionAsync("owned", async cx =>
        {
            var opts = new RegionOptions { DeferOwnerCancel = TimeSpan.FromSeconds(1) };
            var a = cx.Spawn("quick-owner", async cx => quick = await cx.RegionAsync("quick", async cx =>
            {
                await cx.SleepAsync(TimeSpan.FromSeconds(2));
                finishedAt = rt.Now;
            }, opts));
            var b = cx.Spawn("slow-owner", async cx => slow = await cx.RegionAsync("slow", async cx =>
            {
                try
                {
                    await cx.SleepAsync(TimeSpan.FromSeconds(60));
                }
                catch (OperationCanceledException)
                {
                    cancelledAt = rt.Now;
                    throw;
                }
            }, opts));
            await a.JoinAsync(cx);
            await b.JoinAsync(cx);
        }));
        await cx.SleepAsync(TimeSpan.FromMilliseconds(100));
        var t0 = rt.Now;
        owner.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)), "drain");
        await owner.JoinAsync(cx);
        if (!quick.IsOk) throw new InvalidOperationException("the quick region was cancelled: " + quick);
        if (finishedAt is not { } fin || fin - t0 > TimeSpan.FromSeconds(2)) throw new InvalidOperationException($"quick finished at {finishedAt}");
        if (!slow.IsCancelled) throw new InvalidOperationException("the slow region was not cancelled: " + slow);
        if (cancelledAt is not { } c || c - t0 < TimeSpan.FromSeconds(3.9) || c - t0 > TimeSpan.FromSeconds(4.1)) throw new InvalidOperationException($"slow cancelled at {cancelledAt - t0}");
        if (rt.Now - t0 > TimeSpan.FromSeconds(5)) throw new InvalidOperationException("the drain overran its budget");
    }

    [Fact]
    public void DeferOwnerCancel_UnderLab_AcrossSeeds()
    {
        var last = LabTest.ForSeeds(10, DeferredRegion);
        Assert.True(last.Passed, last.Describe());
    }
}
