using System.Net;
using System.Text;
using Asupersync.Http;
using Asupersync.Lab;
using Asupersync.Net;

namespace Asupersync.Extensions.Tests;

/// <summary>
/// The HttpClient bridge's response bodies (Content-Length, chunked, request body echoed) and its
/// <see cref="CxHttpHandler"/> form, against the project's HTTP server on 127.0.0.1 (ephemeral port); the
/// handler's obligation bookkeeping in the Lab.
/// </summary>
public sealed class HttpClientBodyAndHandlerTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    /// <summary>1 MiB with a position-dependent pattern, so a dropped, duplicated or reordered block shows.</summary>
    private static readonly byte[] Big = Enumerable.Range(0, 1 << 20).Select(i => (byte)((i * 31) ^ (i >> 11))).ToArray();

    private static readonly string[] Parts = ["alpha-", "beta-", "gamma-", "delta-", "epsilon"];

    private sealed class Probe
    {
        public int Hits;
        public readonly TaskCompletionSource Reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource FirstChunkSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static async Task<Outcome<Unit>> WithServerAsync(Func<Cx, HttpClient, Probe, Task> test, bool handler)
    {
        var probe = new Probe();
        var router = new HttpRouter()
            .MapGet("/big", (cx, req) => Task.FromResult(HttpResponse.Bytes(Big)))
            .MapPost("/echo", (cx, req) => Task.FromResult(HttpResponse.Bytes(req.Body.ToArray())))
            .MapGet("/chunked", (cx, req) => Task.FromResult(HttpResponse.Chunked(async (cx, w) =>
            {
                foreach (var p in Parts) await w.WriteAsync(cx, p);
            }, "text/plain")))
            .MapGet("/drip", (cx, req) => Task.FromResult(HttpResponse.Chunked(async (cx, w) =>
            {
                await w.WriteAsync(cx, "first");
                probe.FirstChunkSent.TrySetResult();
                await cx.SleepAsync(TimeSpan.FromHours(1)); // the body never ends
            }, "text/plain")))
            .MapGet("/slow", async (cx, req) =>
            {
                Interlocked.Increment(ref probe.Hits);
                probe.Reached.TrySetResult();
                await cx.SleepAsync(TimeSpan.FromHours(1));
                return HttpResponse.Text("too late");
            });
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        return await rt.RunAsync(async cx =>
        {
            var listener = await cx.TcpBindAsync("127.0.0.1:0");
            var server = cx.Spawn("server", cx => new HttpServer(router).ServeAsync(cx, listener));
            var baseAddress = new Uri($"http://127.0.0.1:{listener.LocalEndPoint.Port}");
            using var client = handler ? new HttpClient(new CxHttpHandler()) { BaseAddress = baseAddress } : new HttpClient { BaseAddress = baseAddress };
            try
            {
                await test(cx, client, probe);
            }
            finally
            {
                server.Cancel(message: "test over");
            }
        }).WaitAsync(HangGuard);
    }

    private static void AssertNoLeak(Outcome<Unit> outcome) =>
        Assert.False(outcome.IsErr || outcome.IsPanicked, outcome.ToString()); // a leaked IoOp obligation makes the root Err

    [Fact]
    public async Task SendAsync_DeliversContentLengthChunkedAndEchoedBodies_Whole()
    {
        var outcome = await WithServerAsync(async (cx, client, _) =>
        {
            using (var request = new HttpRequestMessage(HttpMethod.Get, "/big"))
            using (var response = await cx.SendAsync(client, request, HttpCompletionOption.ResponseContentRead))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(Big, await response.Content.ReadAsByteArrayAsync(CancellationToken.None));
            }
            // Headers first (the default): the body is read after the call, under the task's token.
            using (var request = new HttpRequestMessage(HttpMethod.Get, "/chunked"))
            using (var response = await cx.SendAsync(client, request))
            {
                Assert.True(response.Headers.TransferEncodingChunked);
                Assert.Equal(string.Concat(Parts), await cx.AwaitAsync(response.Content.ReadAsStringAsync(cx.CancellationToken)));
            }
            var sent = Big.AsSpan(0, 100_000).ToArray();
            using (var request = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = new ByteArrayContent(sent) })
            using (var response = await cx.SendAsync(client, request, HttpCompletionOption.ResponseContentRead))
            {
                Assert.Equal(sent, await response.Content.ReadAsByteArrayAsync(CancellationToken.None));
            }
        }, handler: false);
        AssertNoLeak(outcome);
    }

    [Fact]
    public async Task SendAsync_ContentRead_CancelWhileTheBodyArrives_EndsCancelled()
    {
        Exception? seen = null;
        var outcome = await WithServerAsync(async (cx, client, probe) =>
        {
            var caller = cx.Spawn("caller", async cx =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/drip");
                try
                {
                    using var response = await cx.SendAsync(client, request, HttpCompletionOption.ResponseContentRead);
                }
                catch (Exception e)
                {
                    seen = e;
                    throw;
                }
            });
            await cx.AwaitAsync(probe.FirstChunkSent.Task); // the head and a first chunk are out; the body never ends
            caller.Cancel(message: "user navigated away");
            var o = await caller.JoinAsync(cx);
            Assert.True(o.IsCancelled, o.ToString());
            Assert.Equal("user navigated away", o.CancelReason!.Message);
        }, handler: false);
        AssertNoLeak(outcome);
        Assert.IsAssignableFrom<OperationCanceledException>(seen);
    }

    [Fact]
    public async Task Handler_SendsUnderTheRequestsCx_AndDeliversTheBodies()
    {
        var outcome = await WithServerAsync(async (cx, client, _) =>
        {
            using (var request = new HttpRequestMessage(HttpMethod.Get, "/big").WithCx(cx))
            using (var response = await cx.AwaitAsync(client.SendAsync(request, cx.CancellationToken)))
            {
                Assert.Equal(Big, await response.Content.ReadAsByteArrayAsync(CancellationToken.None));
            }
            using (var request = new HttpRequestMessage(HttpMethod.Get, "/chunked").WithCx(cx))
            using (var response = await cx.AwaitAsync(client.SendAsync(request, cx.CancellationToken)))
            {
                Assert.Equal(string.Concat(Parts), await response.Content.ReadAsStringAsync(CancellationToken.None));
            }
            var text = "ünïcødé body " + new string('x', 5000);
            using (var request = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = new StringContent(text, Encoding.UTF8) }.WithCx(cx))
            using (var response = await cx.AwaitAsync(client.SendAsync(request, cx.CancellationToken)))
            {
                Assert.Equal(text, await response.Content.ReadAsStringAsync(CancellationToken.None));
            }
        }, handler: true);
        AssertNoLeak(outcome);
    }

    [Fact]
    public async Task Handler_RequestWithoutACx_IsRefused_BeforeAnythingIsSent()
    {
        int hits = -1;
        var outcome = await WithServerAsync(async (cx, client, probe) =>
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await cx.AwaitAsync(client.GetAsync("/slow", cx.CancellationToken)));
            Assert.Contains("no Cx", e.Message, StringComparison.Ordinal);
            hits = Volatile.Read(ref probe.Hits);
        }, handler: true);
        AssertNoLeak(outcome);
        Assert.Equal(0, hits);
    }

    [Fact]
    public async Task Handler_CancelOfTheTask_WhileWaitingForTheResponse_EndsCancelled()
    {
        Exception? seen = null;
        var outcome = await WithServerAsync(async (cx, client, probe) =>
        {
            var caller = cx.Spawn("caller", async cx =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/slow").WithCx(cx);
                try
                {
                    using var response = await cx.AwaitAsync(client.SendAsync(request));
                }
                catch (Exception e)
                {
                    seen = e;
                    throw;
                }
            });
            await cx.AwaitAsync(probe.Reached.Task); // the server runs the handler: the request did reach it
            caller.Cancel(message: "user navigated away");
            var o = await caller.JoinAsync(cx);
            Assert.True(o.IsCancelled, o.ToString());
            Assert.Equal("user navigated away", o.CancelReason!.Message);
        }, handler: true);
        AssertNoLeak(outcome);
        Assert.IsAssignableFrom<OperationCanceledException>(seen);
    }

    [Fact]
    public async Task Handler_CallersOwnToken_StillCancels_AndTheObligationIsNotLeaked()
    {
        var outcome = await WithServerAsync(async (cx, client, probe) =>
        {
            using var cts = new CancellationTokenSource();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/slow").WithCx(cx);
            var send = client.SendAsync(request, cts.Token);
            await cx.AwaitAsync(probe.Reached.Task);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cx.AwaitAsync(send));
        }, handler: true);
        // The task itself was not cancelled: it ends Ok, so an obligation left Reserved would be a leak (Err).
        Assert.True(outcome.IsOk, outcome.ToString());
    }

    private sealed class CountingHandler : HttpMessageHandler
    {
        public int Sent;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Sent++;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("rates " + Sent) });
        }
    }

    [Fact]
    public void Handler_InTheLab_CommitsOneIoOpObligationPerRequest()
    {
        var inner = new CountingHandler();
        var bodies = new List<string>();
        var r = LabRuntime.Run(11, async cx =>
        {
            using var client = new HttpClient(new CxHttpHandler(inner)) { BaseAddress = new Uri("http://rates.test/") };
            for (int i = 0; i < 5; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/rates").WithCx(cx);
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, CancellationToken.None);
                bodies.Add(await response.Content.ReadAsStringAsync(CancellationToken.None));
            }
        });
        Assert.True(r.Passed, r.Describe());
        Assert.Equal(5, inner.Sent);
        Assert.Equal(["rates 1", "rates 2", "rates 3", "rates 4", "rates 5"], bodies);
        var resolved = r.Trace.Events.Where(e => e.Kind == LabEventKind.Obligation).Select(e => (ObligationState)e.Code).ToList();
        Assert.Equal(5, resolved.Count(s => s == ObligationState.Committed));
        Assert.DoesNotContain(ObligationState.Leaked, resolved);
        Assert.DoesNotContain(ObligationState.Aborted, resolved);
    }
}
