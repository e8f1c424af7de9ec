using System.Net;
using System.Text;
using Asupersync.Lab;
using Asupersync.Lab.Chaos;
using Asupersync.Net;

namespace Asupersync.Http.Tests;

/// <summary>
/// The HTTP server and client under the Lab's network chaos (<see cref="ChaosOptions.Network"/>: resets, short
/// reads, writes cut partway, accept failures, refused and timed-out connects, plus spurious cancels and delays),
/// across a bounded seed sweep: every request ends with its own response or a clean error, never a wrong response
/// and never a hang; no connection, task or obligation is left behind; and a seed replays the same faults.
/// </summary>
public class LabChaosIoTests
{
    private const int Clients = 3, Requests = 4, Seeds = 64;

    private sealed class Tally
    {
        public int Ok, Failed;
        public readonly List<string> Violations = new();
    }

    private static Func<Cx, Task> Program(Tally tally) => async cx =>
    {
        var net = VirtualNetwork.Install(cx.Task.Runtime, new VirtualNetworkOptions { MaxLatency = TimeSpan.FromMilliseconds(2), MaxSegmentSize = 40 });
        var server = new HttpServer(ServerFixture.DefaultRouter(), new HttpServerOptions { DrainTimeout = TimeSpan.FromSeconds(1) });
        IPEndPoint? ep = null;
        var serve = cx.Spawn("http", async cx =>
        {
            var l = await cx.TcpBindAsync("127.0.0.1:0");
            ep = l.LocalEndPoint;
            await server.ServeAsync(cx, l);
        });
        while (ep is null && !serve.IsCompleted) await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
        if (ep is null) return;   // chaos cancelled the server before it bound: nothing to talk to

        var clients = Enumerable.Range(0, Clients).Select(c => cx.Spawn("client" + c, async cx =>
        {
            for (int r = 0; r < Requests; r++)
            {
                string body = $"client {c} request {r} " + new string('x', 7 * r);
                try
                {
                    await using var conn = await HttpClientConnection.ConnectAsync(cx, ep.ToString(), TimeSpan.FromSeconds(2));
                    var resp = await conn.SendAsync(cx, "POST", "/echo", Encoding.UTF8.GetBytes(body), chunked: r % 2 == 1);
                    // A response that arrives is the response to this request, whole — or the 503 of a request whose
                    // handler chaos cancelled (a spurious cancel of the server or of a connection task).
                    if (resp.Status == 200 && resp.BodyText() == body) tally.Ok++;
                    else if (resp.Status == 503) tally.Failed++;
                    else tally.Violations.Add($"client {c} request {r}: got {resp.Status} '{resp.BodyText()}' (server {server.Phase})");
                }
                catch (Exception e) when (e is IOException or TimeoutException)
                {
                    tally.Failed++;   // a clean error: reset, refused, cut, timed out
                }
            }
        })).ToList();
        foreach (var t in clients) await t.JoinAsync(cx);   // a client cancelled by chaos ends Cancelled: also clean

        serve.Cancel(Budget.Timeout(TimeSpan.FromSeconds(2)), "shutdown");
        await serve.JoinAsync(cx);
        if (server.ActiveConnections != 0) tally.Violations.Add($"server still has {server.ActiveConnections} connections");
        if (net.OpenConnections != 0) tally.Violations.Add($"{net.OpenConnections} virtual connections left open");
        if (tally.Violations.Count > 0) throw new InvalidOperationException(string.Join("; ", tally.Violations));
    };

    private static readonly LabOptions Options = new() { Chaos = ChaosOptions.Network, ProgramName = "http-chaos-io" };

    [Fact]
    public void ServerAndClient_KeepTheirGuarantees_UnderNetworkChaos_AcrossSeeds()
    {
        var faults = new int[6];
        int ok = 0, failed = 0;
        for (ulong seed = 0; seed < Seeds; seed++)
        {
            var tally = new Tally();
            var r = LabRuntime.Run(seed, Program(tally), Options);
            Assert.True(r.Passed, $"seed {seed}: {r.Describe()}");
            Assert.Empty(tally.Violations);
            ok += tally.Ok;
            failed += tally.Failed;
            foreach (var e in r.Trace.Events)
                if (e.Kind == LabEventKind.ChaosIoFault) faults[e.Code]++;
        }
        // The sweep really exercised every fault, and requests both succeeded and failed cleanly.
        for (int k = 0; k < faults.Length; k++) Assert.True(faults[k] > 0, $"fault {k} never injected in {Seeds} seeds: [{string.Join(", ", faults)}]");
        Assert.True(ok > 0 && failed > 0, $"ok {ok}, failed {failed}");
    }

    [Fact]
    public void NetworkChaos_Replays_FromTheSeed_AndTheTraceKeepsIt()
    {
        var a = LabRuntime.Run(5, Program(new Tally()), Options);
        var b = LabRuntime.Run(5, Program(new Tally()), Options);
        Assert.True(a.Trace.SameAs(b.Trace));
        Assert.Contains(a.Trace.Events, e => e.Kind == LabEventKind.ChaosIoFault);

        // The chaos settings survive the trace file, so a saved trace replays with the same faults.
        var loaded = LabTrace.FromJson(a.Trace.ToJson());
        Assert.Equal(ChaosOptions.Network, loaded.Chaos);
        var replay = LabRuntime.Replay(loaded, Program(new Tally()));
        Assert.Equal(a.Trace.Hash, replay.Trace.Hash);
    }

    [Fact]
    public void WithoutIoChaos_NoIoFaultIsInjected()
    {
        var r = LabRuntime.Run(5, Program(new Tally()), new LabOptions { Chaos = ChaosOptions.Light });
        Assert.DoesNotContain(r.Trace.Events, e => e.Kind == LabEventKind.ChaosIoFault);
        Assert.False(ChaosOptions.Light.HasIoFaults);
        Assert.True(ChaosOptions.Network.HasIoFaults);
        Assert.Same(ChaosOptions.Network, ChaosOptions.Preset("network"));
    }

    /// <summary>
    /// A connection task cancelled before its first step (the drain reached it between the accept and its start)
    /// still runs its body with the cancel pending: a request that had already arrived is answered, with
    /// <c>Connection: close</c>, and a connection with nothing sent yet is closed cleanly; nothing is left open.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SpawnConnection_CancelledBeforeItStarts_AnswersWhatArrived_AndCloses(bool requestSent)
    {
        for (ulong seed = 0; seed < 16; seed++)
        {
            var r = LabRuntime.Run(seed, async cx =>
            {
                var net = VirtualNetwork.Install(cx.Task.Runtime);
                var server = new HttpServer(ServerFixture.DefaultRouter());
                await using var l = await cx.TcpBindAsync("127.0.0.1:0");
                var ep = l.LocalEndPoint;
                var client = cx.Spawn("client", async cx =>
                {
                    await using var s = await cx.TcpConnectAsync(ep);
                    if (requestSent) await s.WriteAsync(cx, Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
                    var got = new MemoryStream();
                    var buf = new byte[256];
                    try
                    {
                        int n;
                        while ((n = await s.ReadAsync(cx, buf)) > 0) got.Write(buf, 0, n);
                    }
                    catch (IOException)
                    {
                        return "reset after: " + Encoding.Latin1.GetString(got.ToArray());
                    }
                    return Encoding.Latin1.GetString(got.ToArray());
                });
                var (stream, _) = await l.AcceptAsync(cx);
                await cx.SleepAsync(TimeSpan.FromMilliseconds(200));   // whatever the client sent has arrived by now
                var conn = server.SpawnConnection(cx, stream);
                conn.Cancel();                                          // before its first step
                var o = await conn.JoinAsync(cx);
                string text = (await client.JoinAsync(cx)).Value!;      // without the handoff, the client waits forever
                if (!o.IsCancelled) throw new InvalidOperationException($"connection task {o}");
                if (requestSent && !(text.StartsWith("HTTP/1.1 200 ", StringComparison.Ordinal) && text.Contains("Connection: close", StringComparison.Ordinal)))
                    throw new InvalidOperationException($"the request that had arrived was not answered 200 with a close: '{text}'");
                if (!requestSent && text.Length != 0)
                    throw new InvalidOperationException($"a connection with no request got '{text}' instead of a clean close");
                if (server.ActiveConnections != 0 || net.OpenConnections != 0)
                    throw new InvalidOperationException($"{server.ActiveConnections} server / {net.OpenConnections} virtual connections left");
                if (requestSent && server.RequestsServed != 1) throw new InvalidOperationException($"{server.RequestsServed} responses counted");
            });
            Assert.True(r.Passed, $"seed {seed}: {r.Describe()}");
        }
    }
}
