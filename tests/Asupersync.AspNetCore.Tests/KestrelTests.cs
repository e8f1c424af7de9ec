using System.Net;
using Asupersync.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Asupersync.AspNetCore.Tests;

/// <summary>The bridge under a real Kestrel on 127.0.0.1 (ephemeral port): host shutdown with requests in flight, client aborts.</summary>
public sealed class KestrelTests
{
    private static readonly TimeSpan HangGuard = TestHostTests.HangGuard;

    private static async Task<(WebApplication App, Uri Base)> StartAsync(Action<WebApplication> map, TimeSpan? shutdownTimeout = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (shutdownTimeout is { } t) builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = t);
        builder.Services.AddAsupersync(o => o.Runtime = new RuntimeOptions { WorkerCount = 2 });
        var app = builder.Build();
        app.UseAsupersync();
        map(app);
        await app.StartAsync().WaitAsync(HangGuard);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return (app, new Uri(address));
    }

    [Fact]
    public async Task HostShutdown_LetsAnInFlightRequestFinish()
    {
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (app, baseUri) = await StartAsync(a => a.MapGet("/slow", async (Cx cx) =>
        {
            inHandler.TrySetResult();
            await cx.SleepAsync(TimeSpan.FromMilliseconds(300));
            return "finished";
        }));
        using var client = new HttpClient { BaseAddress = baseUri };
        var response = client.GetAsync("/slow");
        await inHandler.Task.WaitAsync(HangGuard);
        var stop = app.StopAsync();
        var r = await response.WaitAsync(HangGuard);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("finished", await r.Content.ReadAsStringAsync());
        await stop.WaitAsync(HangGuard);
        var outcome = await app.Services.GetRequiredService<AsupersyncHostedService>().Completion.WaitAsync(HangGuard);
        Assert.True(outcome.IsOk, outcome.ToString());
        await app.DisposeAsync();
    }

    [Fact]
    public async Task HostShutdownTimeout_CancelsWhatIsStillRunning_AndItsCleanupRuns()
    {
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cleaned = new TaskCompletionSource<CancelReason?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (app, baseUri) = await StartAsync(a => a.MapGet("/forever", async (Cx cx) =>
        {
            inHandler.TrySetResult();
            try
            {
                await cx.SleepAsync(TimeSpan.FromHours(1));
            }
            finally
            {
                await cx.YieldAsync(); // cleanup may still await (draining)
                cleaned.TrySetResult(cx.CancelReason);
            }
            return "unreachable";
        }), shutdownTimeout: TimeSpan.FromMilliseconds(300));
        using var client = new HttpClient { BaseAddress = baseUri };
        var response = client.GetAsync("/forever");
        await inHandler.Task.WaitAsync(HangGuard);
        await app.StopAsync().WaitAsync(HangGuard);
        var reason = await cleaned.Task.WaitAsync(HangGuard);
        Assert.NotNull(reason);
        // Kestrel aborts the connection when the timeout runs out and the hosting service cancels the root with
        // Shutdown; the handler acknowledges whichever reached it first.
        Assert.True(reason!.Kind == CancelKind.Shutdown || reason.IsClientGone(), reason.ToString());
        try
        {
            var r = await response.WaitAsync(HangGuard);
            Assert.NotEqual(HttpStatusCode.OK, r.StatusCode);
        }
        catch (HttpRequestException)
        {
            // the connection was closed without a response
        }
        var outcome = await app.Services.GetRequiredService<AsupersyncHostedService>().Completion.WaitAsync(HangGuard);
        // When the Shutdown cancel reached the request, the root was cancelled with it. When Kestrel's own stop aborted
        // the connection first (ClientGone), the request ended before the root's second shutdown signal, and the root,
        // whose body returned at the first signal, closes Ok. Either way nothing was left running and cleanup ran.
        if (reason.Kind == CancelKind.Shutdown) Assert.True(outcome.IsCancelled, outcome.ToString());
        else Assert.True(outcome.IsOk || outcome.IsCancelled, outcome.ToString());
        await app.DisposeAsync();
    }

    [Fact]
    public async Task ClientAbortMidRequest_CancelsTheHandler_WithClientGone()
    {
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cleaned = new TaskCompletionSource<CancelReason?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var childCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var childStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (app, baseUri) = await StartAsync(a =>
        {
            a.MapGet("/health", () => "ok");
            a.MapGet("/hang", async (Cx cx) =>
        {
            cx.Spawn("child", async cx =>
            {
                childStarted.TrySetResult();
                try
                {
                    await cx.SleepAsync(TimeSpan.FromHours(1));
                }
                catch (CancelledException)
                {
                    childCancelled.TrySetResult();
                    throw;
                }
            });
            inHandler.TrySetResult();
            try
            {
                await cx.SleepAsync(TimeSpan.FromHours(1));
            }
            finally
            {
                cleaned.TrySetResult(cx.CancelReason);
            }
            return "unreachable";
        });
        });
        using var client = new HttpClient { BaseAddress = baseUri };
        using var abort = new CancellationTokenSource();
        var response = client.GetAsync("/hang", abort.Token);
        await inHandler.Task.WaitAsync(HangGuard);
        // A task cancelled before its first step never runs its body: abort only once the child is running.
        await childStarted.Task.WaitAsync(HangGuard);
        abort.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => response.WaitAsync(HangGuard));
        var reason = await cleaned.Task.WaitAsync(HangGuard);
        Assert.True(reason.IsClientGone(), reason?.ToString());
        Assert.Equal(CancelKind.ParentCancelled, reason!.Kind);
        Assert.Equal(CancelKind.ResourceUnavailable, reason.Cause!.Kind);
        // The server keeps serving afterwards.
        var ok = await client.GetAsync("/health", CancellationToken.None).WaitAsync(HangGuard);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await childCancelled.Task.WaitAsync(HangGuard); // the task the handler spawned was cancelled with it
        await app.StopAsync().WaitAsync(HangGuard);
        await app.DisposeAsync();
    }
}
