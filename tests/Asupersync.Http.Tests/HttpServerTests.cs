using System.Net.Sockets;
using System.Text;
using Asupersync.Http;
using Asupersync.Net;
using static Asupersync.Http.Tests.RawClient;

namespace Asupersync.Http.Tests;

public class HttpServerTests
{
    [Fact]
    public async Task KeepAlive_SeveralRequestsOnOneConnection()
    {
        await using var f = await ServerFixture.StartAsync();
        var texts = await f.RunClient(async cx =>
        {
            await using var c = await HttpClientConnection.ConnectAsync(cx, f.EndPoint.ToString());
            var list = new List<string>();
            for (int i = 0; i < 5; i++)
            {
                var r = await c.SendAsync(cx, "POST", "/echo", Encoding.UTF8.GetBytes($"body {i}"));
                Assert.Equal(200, r.Status);
                Assert.True(r.KeepAlive);
                list.Add(r.BodyText());
            }
            var g = await c.SendAsync(cx, "GET", "/");
            list.Add(g.BodyText());
            return list;
        });
        Assert.Equal(new[] { "body 0", "body 1", "body 2", "body 3", "body 4", "hello" }, texts);
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(HttpServerPhase.Stopped, f.Server.Phase);
        Assert.Equal(0, f.Runtime.Diagnostics.ObligationsLeaked);
    }

    [Fact]
    public async Task Pipelining_ResponsesInOrder()
    {
        await using var f = await ServerFixture.StartAsync();
        var req = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nonePOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\ntwoGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        var r = await SendAsync(f.EndPoint, Ascii(req));
        Assert.True(r.Closed);
        int a = r.Text.IndexOf("\r\n\r\none", StringComparison.Ordinal), b = r.Text.IndexOf("\r\n\r\ntwo", StringComparison.Ordinal), c = r.Text.IndexOf("\r\n\r\nhello", StringComparison.Ordinal);
        Assert.True(a > 0 && b > a && c > b, r.Text);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(r.Text, "HTTP/1.1 200 OK").Count);
    }

    [Fact]
    public async Task ChunkedRequest_And_ChunkedResponse()
    {
        await using var f = await ServerFixture.StartAsync();
        var req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: t\r\n\r\n";
        var r = await SendAsync(f.EndPoint, Ascii(req));
        Assert.Equal(200, r.Status);
        Assert.EndsWith("\r\n\r\nhello, world", r.Text);
        var streamed = await f.RunClient(async cx =>
        {
            await using var c = await HttpClientConnection.ConnectAsync(cx, f.EndPoint.ToString());
            var s = await c.SendAsync(cx, "GET", "/stream");
            Assert.Equal("chunked", s.Headers["Transfer-Encoding"]);
            var echoed = await c.SendAsync(cx, "POST", "/echo", Encoding.UTF8.GetBytes("via chunks"), chunked: true);
            return s.BodyText() + "|" + echoed.BodyText();
        });
        Assert.Equal("part0;part1;part2;part3;part4;|via chunks", streamed);
    }

    [Fact]
    public async Task Expect100Continue_GetsInterimResponse()
    {
        await using var f = await ServerFixture.StartAsync();
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(f.EndPoint);
        await s.SendAsync(Ascii("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"));
        var buf = new byte[256];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n = await s.ReceiveAsync(buf, SocketFlags.None, cts.Token);
        Assert.StartsWith("HTTP/1.1 100 Continue\r\n\r\n", Encoding.ASCII.GetString(buf, 0, n));
        await s.SendAsync(Ascii("ping"));
        var rest = await ReadAllAsync(s, TimeSpan.FromSeconds(5));
        Assert.Equal(200, rest.Status);
        Assert.EndsWith("ping", rest.Text);
    }

    [Fact]
    public async Task Expect100_OverLimit_Gets413WithoutContinue()
    {
        await using var f = await ServerFixture.StartAsync(new HttpServerOptions { MaxBodySize = 10 });
        var r = await SendAsync(f.EndPoint, Ascii("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n"));
        Assert.Equal(413, r.Status);
        Assert.True(r.Closed);
    }

    [Fact]
    public async Task Head_HasNoBody_Routing404And405()
    {
        await using var f = await ServerFixture.StartAsync();
        var r = await SendAsync(f.EndPoint, Ascii("HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        Assert.Equal(200, r.Status);
        Assert.Contains("Content-Length: 5", r.Text);
        Assert.EndsWith("\r\n\r\n", r.Text);
        Assert.Equal(404, (await SendAsync(f.EndPoint, Ascii("GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))).Status);
        var m = await SendAsync(f.EndPoint, Ascii("DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        Assert.Equal(405, m.Status);
        Assert.Contains("Allow: GET", m.Text);
    }

    [Fact]
    public async Task HandlerFailure_Is500_AndServerKeepsServing()
    {
        await using var f = await ServerFixture.StartAsync();
        var r = await SendAsync(f.EndPoint, Ascii("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Equal(500, r.Status);
        Assert.True(r.Closed);
        Assert.Equal(200, (await SendAsync(f.EndPoint, Ascii("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))).Status);
    }

    [Fact]
    public async Task Slowloris_CutOffByHeaderReadBudget()
    {
        await using var f = await ServerFixture.StartAsync(new HttpServerOptions { HeaderReadTimeout = TimeSpan.FromMilliseconds(400) });
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(f.EndPoint);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var head = Ascii("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        bool cut = false;
        foreach (var b in head)
        {
            try
            {
                await s.SendAsync(new[] { b });
            }
            catch (SocketException)
            {
                cut = true;
                break;
            }
            await Task.Delay(20);
            if (s.Poll(0, SelectMode.SelectRead)) break; // the server answered
            if (sw.Elapsed > TimeSpan.FromSeconds(10)) break;
        }
        var r = await ReadAllAsync(s, TimeSpan.FromSeconds(5));
        Assert.True(cut || r.Closed, "the slow client was not cut off");
        if (!cut) Assert.Equal(408, r.Status);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(8), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task IdleKeepAlive_ClosedAfterIdleBudget()
    {
        await using var f = await ServerFixture.StartAsync(new HttpServerOptions { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = await SendAsync(f.EndPoint, Ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), TimeSpan.FromSeconds(10));
        Assert.Equal(200, r.Status);
        Assert.True(r.Closed, "idle connection was not closed");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(8), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task Http10_ClosesByDefault_KeepsAliveOnRequest()
    {
        await using var f = await ServerFixture.StartAsync();
        var r = await SendAsync(f.EndPoint, Ascii("GET / HTTP/1.0\r\n\r\n"));
        Assert.Equal(200, r.Status);
        Assert.True(r.Closed);
        Assert.Contains("Connection: close", r.Text);
        var k = await SendAsync(f.EndPoint, Ascii("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n"));
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(k.Text, "HTTP/1.1 200 OK").Count);
        Assert.Contains("Connection: keep-alive", k.Text);
        Assert.True(k.Closed);
    }

    [Fact]
    public async Task ClientDisconnectsMidRequest_ConnectionEnds()
    {
        await using var f = await ServerFixture.StartAsync();
        for (int i = 0; i < 5; i++)
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(f.EndPoint);
            await s.SendAsync(Ascii(i % 2 == 0 ? "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial" : "GET / HTTP/1.1\r\nHo"));
            if (i == 4) s.LingerState = new LingerOption(true, 0); // reset instead of FIN
            s.Close();
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (f.Server.ActiveConnections > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, f.Server.ActiveConnections);
        Assert.Equal(200, (await SendAsync(f.EndPoint, Ascii("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))).Status);
    }

    [Fact]
    public async Task Shutdown_WhileRequestsInFlight_EachCompletesOrClosesCleanly_NoLeak()
    {
        await using var f = await ServerFixture.StartAsync();
        var clients = Enumerable.Range(0, 6).Select(i => SendAsync(f.EndPoint,
            Ascii(i % 2 == 0 ? "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n" : "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), TimeSpan.FromSeconds(15))).ToArray();
        await Task.Delay(100);
        var o = await f.StopAsync(TimeSpan.FromSeconds(5));
        var results = await Task.WhenAll(clients).WaitAsync(ServerFixture.Bound);
        foreach (var r in results)
        {
            Assert.True(r.Closed, "connection left open after shutdown: " + r.Text);
            Assert.True(r.Status is null or 200 or 503, r.Text);
            if (r.Status is not null) Assert.Contains("\r\n\r\n", r.Text); // a whole head, never a torn one
        }
        Assert.True(o.IsOk, o.ToString()); // the serving task was cancelled through its handle: the root is Ok
        Assert.Equal(HttpServerPhase.Stopped, f.Server.Phase);
        Assert.Equal(0, f.Server.ActiveConnections);
        Assert.Equal(0, f.Runtime.Diagnostics.ObligationsLeaked);
        Assert.Equal(0, f.Runtime.Diagnostics.BudgetOverruns);
        Assert.True(f.Server.ConnectionsDrained + f.Server.ConnectionsServed >= 6, $"served {f.Server.ConnectionsServed} drained {f.Server.ConnectionsDrained} aborted {f.Server.ConnectionsAborted}");
    }

    [Fact]
    public async Task Shutdown_HandlerIgnoringCancel_IsForceClosedAfterDrainBudget()
    {
        var handler = new HttpRouter().MapGet("/stuck", async (cx, r) =>
        {
            using (cx.Mask())
            {
                await cx.SleepAsync(TimeSpan.FromSeconds(20)); // refuses to notice the cancel (bounded by the cleanup budget)
            }
            return HttpResponse.Text("late");
        });
        await using var f = await ServerFixture.StartAsync(new HttpServerOptions { DrainTimeout = TimeSpan.FromMilliseconds(300) }, handler: handler);
        var client = SendAsync(f.EndPoint, Ascii("GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n"), TimeSpan.FromSeconds(20));
        await Task.Delay(100);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var o = await f.StopAsync(TimeSpan.FromSeconds(1));
        var r = await client.WaitAsync(ServerFixture.Bound);
        Assert.True(r.Closed);
        Assert.True(r.Status is null or 503, r.Text);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"stop took {sw.Elapsed}");
        Assert.Equal(HttpServerPhase.Stopped, f.Server.Phase);
        Assert.Equal(0, f.Server.ActiveConnections);
        _ = o;
    }

    public static TheoryData<ulong> Seeds => new() { 1, 2, 3, 4, 5 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task VirtualNetwork_EchoAndKeepAlive(ulong seed)
    {
        await using var f = await ServerFixture.StartAsync(vnet: new VirtualNetworkOptions
        {
            Seed = seed,
            MaxLatency = TimeSpan.FromMilliseconds(3),
            MaxSegmentSize = 5 + (int)(seed * 7 % 40),
        });
        var bodies = await f.RunClient(async cx =>
        {
            var results = new List<string>();
            for (int conn = 0; conn < 3; conn++)
            {
                await using var c = await HttpClientConnection.ConnectAsync(cx, f.EndPoint.ToString());
                for (int i = 0; i < 4; i++)
                {
                    var r = await c.SendAsync(cx, "POST", "/echo", Encoding.UTF8.GetBytes($"c{conn}r{i}:" + new string('z', i * 100)), chunked: i % 2 == 1);
                    results.Add(r.BodyText());
                }
            }
            return results;
        });
        Assert.Equal(12, bodies.Count);
        Assert.All(bodies, b => Assert.Matches("^c[0-2]r[0-3]:z*$", b));
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(0, f.Runtime.Diagnostics.ObligationsLeaked);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task VirtualNetwork_SeededFaults_NeverHangOrLeak(ulong seed)
    {
        await using var f = await ServerFixture.StartAsync(
            new HttpServerOptions { HeaderReadTimeout = TimeSpan.FromMilliseconds(500), BodyReadTimeout = TimeSpan.FromMilliseconds(500) },
            vnet: new VirtualNetworkOptions { Seed = seed, MaxLatency = TimeSpan.FromMilliseconds(1), MaxSegmentSize = 9, ResetProbability = 0.02, RefuseProbability = 0.1 });
        var (ok, failed) = await f.RunClient(async cx =>
        {
            int good = 0, bad = 0;
            for (int i = 0; i < 30; i++)
            {
                try
                {
                    await using var c = await HttpClientConnection.ConnectAsync(cx, f.EndPoint.ToString());
                    var body = Encoding.UTF8.GetBytes(new string('p', 10 + i * 13));
                    var r = await c.SendAsync(cx, "POST", "/echo", body, chunked: i % 3 == 0);
                    Assert.Equal(200, r.Status);
                    Assert.Equal(body, r.Body);
                    good++;
                }
                catch (IOException)
                {
                    bad++; // an injected reset or refusal: reported, never a hang or a wrong body
                }
            }
            return (good, bad);
        });
        Assert.Equal(30, ok + failed);
        Assert.True(ok > 0, "no request survived the faults");
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(0, f.Server.ActiveConnections);
        Assert.Equal(0, f.Runtime.Diagnostics.ObligationsLeaked);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task VirtualNetwork_ShutdownInFlight(ulong seed)
    {
        await using var f = await ServerFixture.StartAsync(vnet: new VirtualNetworkOptions { Seed = seed, MaxLatency = TimeSpan.FromMilliseconds(2) });
        int connected = 0;
        var clients = f.Runtime.RunAsync(async cx =>
        {
            var hs = Enumerable.Range(0, 4).Select(i => cx.Spawn($"client{i}", async cx =>
            {
                await using var c = await HttpClientConnection.ConnectAsync(cx, f.EndPoint.ToString());
                Interlocked.Increment(ref connected);
                try
                {
                    var r = await c.SendAsync(cx, "GET", i % 2 == 0 ? "/slow" : "/");
                    return r.Status;
                }
                catch (IOException)
                {
                    return 0; // a clean close before a response
                }
            })).ToList();
            var statuses = new List<int>();
            foreach (var h in hs) statuses.Add(await h.ValueAsync(cx));
            return statuses;
        }, "clients");
        // Stop once every client is connected (a loaded machine may take long to get there: never a fixed delay).
        for (int i = 0; i < 3000 && Volatile.Read(ref connected) < 4; i++) await Task.Delay(10);
        await Task.Delay(20);
        var o = await f.StopAsync();
        var s = await clients.WaitAsync(ServerFixture.Bound);
        Assert.True(s.IsOk, s.ToString());
        Assert.All(s.Value, st => Assert.True(st is 0 or 200 or 503, st.ToString()));
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(0, f.Server.ActiveConnections);
    }

    /// <summary>
    /// Real sockets, multi-threaded runtime: the drain reaches a connection whose request has arrived (unread) at
    /// the moment its task is spawned and cancelled. The request is answered 200 (here the connection's first step
    /// runs inline in the spawning step, so it is usually answered before the cancel; otherwise after it, with
    /// <c>Connection: close</c>) instead of the connection being closed unanswered, and nothing stays open.
    /// </summary>
    [Fact]
    public async Task ConnectionCancelledWithItsRequestArrived_IsAnswered()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var server = new HttpServer(ServerFixture.DefaultRouter());
        for (int round = 0; round < 8; round++)
        {
            var o = await rt.RunAsync(async cx =>
            {
                await using var l = await cx.TcpBindAsync("127.0.0.1:0");
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(l.LocalEndPoint);
                await client.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
                var (stream, _) = await l.AcceptAsync(cx);
                // Bounded wait for the bytes to be in the server socket's receive queue (loopback: at once).
                for (int i = 0; i < 5000 && !stream.HasUnreadData; i++) await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
                Assert.True(stream.HasUnreadData, "the request never arrived");
                var conn = server.SpawnConnection(cx, stream);
                conn.Cancel();
                var end = await conn.JoinAsync(cx);
                var text = await ReadToEndAsync(client);
                Assert.StartsWith("HTTP/1.1 200 ", text, StringComparison.Ordinal);
                Assert.EndsWith("hello", text, StringComparison.Ordinal);   // one whole response, then the close
                return end.IsCancelled;
            });
            Assert.True(o.IsOk && o.Value, o.ToString());
        }
        Assert.Equal(0, server.ActiveConnections);
        Assert.Equal(8, server.RequestsServed);
    }

    private static async Task<string> ReadToEndAsync(Socket s)
    {
        var ms = new MemoryStream();
        var buf = new byte[1024];
        using var cts = new CancellationTokenSource(ServerFixture.Bound);
        int n;
        while ((n = await s.ReceiveAsync(buf, SocketFlags.None, cts.Token)) > 0) ms.Write(buf, 0, n);
        return Encoding.Latin1.GetString(ms.ToArray());
    }
}
