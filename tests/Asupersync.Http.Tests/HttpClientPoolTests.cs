using System.Net;
using System.Text;
using Asupersync.Http;
using Asupersync.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Asupersync.Http.Tests;

/// <summary>Issue 12 item 4: <see cref="HttpClientPool"/> against the project's server, a scripted raw server and Kestrel (127.0.0.1, ephemeral ports).</summary>
public sealed class HttpClientPoolTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static async Task<Outcome<Unit>> ClientAsync(Func<Cx, Task> body)
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        return await rt.RunAsync(body).WaitAsync(HangGuard);
    }

    /// <summary>Polls (bounded, a hang guard only) until <paramref name="condition"/> holds.</summary>
    private static async Task EventuallyAsync(Cx cx, Func<bool> condition, string what)
    {
        for (int i = 0; i < 3000 && !condition(); i++) await cx.SleepAsync(TimeSpan.FromMilliseconds(10));
        Assert.True(condition(), "never: " + what);
    }

    [Fact]
    public async Task KeepAliveConnection_IsReused_ForSequentialRequests()
    {
        await using var server = await ServerFixture.StartAsync();
        var ep = server.EndPoint.ToString();
        var outcome = await ClientAsync(async cx =>
        {
            var pool = HttpClientPool.Open(cx);
            for (int i = 0; i < 10; i++)
            {
                var r = await pool.SendAsync(cx, ep, "GET", "/");
                Assert.Equal((200, "hello"), (r.Status, r.BodyText()));
            }
            var payload = Encoding.UTF8.GetBytes(new string('p', 50_000));
            var echo = await pool.SendAsync(cx, ep, "POST", "/echo", payload);
            Assert.Equal(payload, echo.Body);
            var chunked = await pool.SendAsync(cx, ep, "GET", "/stream");
            Assert.Equal("part0;part1;part2;part3;part4;", chunked.BodyText());
            Assert.Equal(1, pool.ConnectionsOpened);
            Assert.Equal(1, pool.IdleConnections(ep));
        });
        Assert.True(outcome.IsOk, outcome.ToString());
    }

    [Fact]
    public async Task ConnectionLimit_MakesRequestsWait_AndNeverExceedsIt()
    {
        int inFlight = 0, maxInFlight = 0;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var router = new HttpRouter().MapGet("/hold", async (cx, r) =>
        {
            int now = Interlocked.Increment(ref inFlight);
            int seen;
            while ((seen = Volatile.Read(ref maxInFlight)) < now && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen) { }
            await cx.AwaitAsync(gate.Task);
            Interlocked.Decrement(ref inFlight);
            return HttpResponse.Text("held");
        });
        await using var server = await ServerFixture.StartAsync(handler: router);
        var ep = server.EndPoint.ToString();
        var outcome = await ClientAsync(async cx =>
        {
            var pool = HttpClientPool.Open(cx, new HttpClientPoolOptions { MaxConnectionsPerEndPoint = 2 });
            var calls = Enumerable.Range(0, 6).Select(i => cx.Spawn($"call{i}", cx => pool.SendAsync(cx, ep, "GET", "/hold"))).ToList();
            await EventuallyAsync(cx, () => Volatile.Read(ref inFlight) == 2 && pool.WaitingRequests(ep) == 4, "2 requests at the server and 4 waiting for a slot");
            Assert.Equal(2, Volatile.Read(ref maxInFlight));
            gate.SetResult();
            foreach (var c in calls)
            {
                var o = await c.JoinAsync(cx);
                Assert.True(o.IsOk, o.ToString());
                Assert.Equal("held", o.Value!.BodyText());
            }
            Assert.Equal(2, pool.ConnectionsOpened); // the waiting requests took the freed connections
        });
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal(2, maxInFlight);
    }

    [Fact]
    public async Task RequestCancelledMidFlight_ClosesItsConnection_InsteadOfPoolingIt()
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var router = ServerFixture.DefaultRouter().MapGet("/forever", async (cx, r) =>
        {
            reached.TrySetResult();
            await cx.SleepAsync(TimeSpan.FromHours(1));
            return HttpResponse.Text("never");
        });
        await using var server = await ServerFixture.StartAsync(handler: router);
        var ep = server.EndPoint.ToString();
        var outcome = await ClientAsync(async cx =>
        {
            var pool = HttpClientPool.Open(cx);
            Assert.Equal(200, (await pool.SendAsync(cx, ep, "GET", "/")).Status);
            Assert.Equal(1, pool.IdleConnections(ep));
            var caller = cx.Spawn("caller", cx => pool.SendAsync(cx, ep, "GET", "/forever")); // takes the idle connection
            await cx.AwaitAsync(reached.Task);
            caller.Cancel(message: "user gave up");
            var o = await caller.JoinAsync(cx);
            Assert.True(o.IsCancelled, o.ToString());
            Assert.Equal(0, pool.IdleConnections(ep)); // the half-done exchange's connection was closed, not returned
            var next = await pool.SendAsync(cx, ep, "GET", "/");
            Assert.Equal("hello", next.BodyText());
            Assert.Equal(2, pool.ConnectionsOpened);
        });
        Assert.True(outcome.IsOk, outcome.ToString());
    }

    /// <summary>Reads one request head from <paramref name="s"/> (bounded).</summary>
    private static async Task<bool> ReadHeadAsync(Cx cx, TcpStream s)
    {
        var buf = new byte[4096];
        var got = new StringBuilder();
        while (!got.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int n = await s.ReadAsync(cx, buf);
            if (n == 0) return false;
            got.Append(Encoding.Latin1.GetString(buf, 0, n));
            if (got.Length > 64 * 1024) throw new IOException("head too long");
        }
        return true;
    }

    private static readonly byte[] Ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray();

    [Fact]
    public async Task ClosingThePoolsRegion_ClosesItsConnections()
    {
        bool sawEof = false;
        HttpClientPool? pool = null;
        var outcome = await ClientAsync(async cx =>
        {
            var listener = await cx.TcpBindAsync("127.0.0.1:0");
            var ep = listener.LocalEndPoint.ToString();
            var server = cx.Spawn("server", async cx =>
            {
                var (s, _) = await listener.AcceptAsync(cx);
                await using var _ = s;
                Assert.True(await ReadHeadAsync(cx, s));
                await s.WriteAsync(cx, Ok);
                sawEof = !await ReadHeadAsync(cx, s); // the next thing the client does is close
            });
            await cx.RegionAsync("clients", async rcx =>
            {
                pool = HttpClientPool.Open(rcx);
                var r = await pool.SendAsync(rcx, ep, "GET", "/");
                Assert.Equal("ok", r.BodyText());
                Assert.Equal(1, pool.IdleConnections(ep));
            });
            Assert.True((await server.JoinAsync(cx)).IsOk);
            Assert.Equal(0, pool!.IdleConnections(ep));
            await Assert.ThrowsAsync<ObjectDisposedException>(() => pool.SendAsync(cx, ep, "GET", "/"));
        });
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.True(sawEof);
    }

    [Fact]
    public async Task IdempotentRequest_OnAConnectionTheServerClosedWhileIdle_IsSentOnceMoreOnANewOne()
    {
        var outcome = await ClientAsync(async cx =>
        {
            var listener = await cx.TcpBindAsync("127.0.0.1:0");
            var ep = listener.LocalEndPoint.ToString();
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var server = cx.Spawn("server", async cx =>
            {
                var (first, _) = await listener.AcceptAsync(cx);
                Assert.True(await ReadHeadAsync(cx, first));
                await first.WriteAsync(cx, Ok); // claims keep-alive…
                first.Close("server idle close"); // …then closes while the client holds it idle
                closed.SetResult();
                var (second, _) = await listener.AcceptAsync(cx);
                await using var _ = second;
                Assert.True(await ReadHeadAsync(cx, second));
                await second.WriteAsync(cx, Ok);
            });
            var pool = HttpClientPool.Open(cx);
            Assert.Equal("ok", (await pool.SendAsync(cx, ep, "GET", "/")).BodyText());
            await cx.AwaitAsync(closed.Task);
            Assert.Equal("ok", (await pool.SendAsync(cx, ep, "GET", "/")).BodyText());
            Assert.Equal(2, pool.ConnectionsOpened);
            Assert.True((await server.JoinAsync(cx)).IsOk);
        });
        Assert.True(outcome.IsOk, outcome.ToString());
    }

    [Fact]
    public async Task AgainstKestrel_ReusesOneConnection_AndReadsBodies()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapGet("/hello", () => "hello from kestrel");
        app.MapPost("/echo", async (HttpContext c) =>
        {
            using var ms = new MemoryStream();
            await c.Request.Body.CopyToAsync(ms);
            c.Response.ContentType = "application/octet-stream";
            await c.Response.Body.WriteAsync(ms.ToArray());
        });
        await app.StartAsync().WaitAsync(HangGuard);
        try
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            var ep = $"127.0.0.1:{address.Port}";
            var outcome = await ClientAsync(async cx =>
            {
                var pool = HttpClientPool.Open(cx, new HttpClientPoolOptions { MaxConnectionsPerEndPoint = 4 });
                for (int i = 0; i < 20; i++) Assert.Equal("hello from kestrel", (await pool.SendAsync(cx, ep, "GET", "/hello")).BodyText());
                var payload = Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7)).ToArray();
                Assert.Equal(payload, (await pool.SendAsync(cx, ep, "POST", "/echo", payload)).Body); // Kestrel answers chunked
                Assert.Equal(1, pool.ConnectionsOpened);
                var calls = Enumerable.Range(0, 8).Select(i => cx.Spawn($"c{i}", cx => pool.SendAsync(cx, ep, "GET", "/hello"))).ToList();
                foreach (var c in calls) Assert.True((await c.JoinAsync(cx)).IsOk);
                Assert.InRange(pool.ConnectionsOpened, 1, 4);
            });
            Assert.True(outcome.IsOk, outcome.ToString());
        }
        finally
        {
            await app.StopAsync().WaitAsync(HangGuard);
        }
    }
}
