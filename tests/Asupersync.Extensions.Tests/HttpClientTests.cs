using System.Net;
using Asupersync.Http;
using Asupersync.Net;

namespace Asupersync.Extensions.Tests;

/// <summary>The HttpClient bridge against the project's own HTTP server on 127.0.0.1 (ephemeral port).</summary>
public sealed class HttpClientTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static async Task<Outcome<Unit>> WithServerAsync(Func<Cx, HttpClient, Task> test, Action<int>? onHit = null)
    {
        int hits = 0;
        var router = new HttpRouter()
            .MapGet("/hello", (cx, req) => Task.FromResult(HttpResponse.Text("hello")))
            .MapGet("/slow", async (cx, req) =>
            {
                onHit?.Invoke(Interlocked.Increment(ref hits));
                await cx.SleepAsync(TimeSpan.FromHours(1));
                return HttpResponse.Text("too late");
            });
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        return await rt.RunAsync(async cx =>
        {
            var listener = await cx.TcpBindAsync("127.0.0.1:0");
            var server = cx.Spawn("server", cx => new HttpServer(router).ServeAsync(cx, listener));
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{listener.LocalEndPoint.Port}") };
            try
            {
                await test(cx, client);
            }
            finally
            {
                server.Cancel(message: "test over");
            }
        }).WaitAsync(HangGuard);
    }

    [Fact]
    public async Task Get_ReturnsTheResponse_AndResolvesItsObligation()
    {
        var outcome = await WithServerAsync(async (cx, client) =>
        {
            Assert.Equal("hello", await cx.GetStringAsync(client, "/hello"));
            using var request = new HttpRequestMessage(HttpMethod.Get, "/hello");
            using var response = await cx.SendAsync(client, request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        });
        // A leaked IoOp obligation would make the root Err.
        Assert.True(outcome.IsCancelled || outcome.IsOk, outcome.ToString());
        Assert.False(outcome.IsErr);
    }

    [Fact]
    public async Task CancelWhileWaitingForTheResponse_StopsTheRequest_AndSaysItMayHaveReachedTheServer()
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Exception? seen = null;
        var outcome = await WithServerAsync(async (cx, client) =>
        {
            var caller = cx.Spawn("caller", async cx =>
            {
                try
                {
                    await cx.GetStringAsync(client, "/slow");
                }
                catch (Exception e)
                {
                    seen = e;
                    throw;
                }
            });
            await cx.AwaitAsync(reached.Task); // the server is running the handler: the request did reach it
            caller.Cancel(message: "user navigated away");
            var o = await caller.JoinAsync(cx);
            Assert.True(o.IsCancelled, o.ToString());
            Assert.Equal("user navigated away", o.CancelReason!.Message);
        }, onHit: _ => reached.TrySetResult());
        Assert.False(outcome.IsErr || outcome.IsPanicked, outcome.ToString());
        Assert.IsAssignableFrom<OperationCanceledException>(seen);
    }

    [Fact]
    public async Task BudgetDeadline_BecomesTheRequestTimeout()
    {
        var outcome = await WithServerAsync(async (cx, client) =>
        {
            var caller = cx.Spawn("caller", cx => cx.GetStringAsync(client, "/slow"), Budget.Timeout(TimeSpan.FromMilliseconds(200)));
            var o = await caller.JoinAsync(cx);
            // Either the runtime raised its own deadline cancel, or the bridge's timeout fired first.
            Assert.True(
                (o.IsCancelled && o.CancelReason!.Kind is CancelKind.Deadline or CancelKind.Timeout) || o.Exception is TimeoutException,
                o.ToString());
        });
        Assert.False(outcome.IsErr || outcome.IsPanicked, outcome.ToString());
    }

    [Fact]
    public async Task WithoutIO_IsRefused_BeforeAnythingIsSent()
    {
        int hits = 0;
        var outcome = await WithServerAsync(async (cx, client) =>
        {
            var narrow = cx.Narrow(Capabilities.All & ~Capabilities.IO);
            await Assert.ThrowsAsync<CapabilityException>(() => narrow.GetStringAsync(client, "/slow"));
            await cx.SleepAsync(TimeSpan.FromMilliseconds(20));
        }, onHit: n => hits = n);
        Assert.False(outcome.IsErr || outcome.IsPanicked, outcome.ToString());
        Assert.Equal(0, hits);
    }
}
