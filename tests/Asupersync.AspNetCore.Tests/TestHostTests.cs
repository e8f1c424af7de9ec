using System.Net;
using Asupersync.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Asupersync.AspNetCore.Tests;

/// <summary>The bridge over the in-memory TestServer: Cx binding, request regions, spawned tasks, errors, budgets.</summary>
public sealed class TestHostTests
{
    internal static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static async Task<WebApplication> StartAsync(Action<WebApplication> map, Action<AsupersyncWebOptions>? configure = null, bool useAsupersync = true)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddAsupersync(o =>
        {
            o.Runtime = new RuntimeOptions { WorkerCount = 2 };
            configure?.Invoke(o);
        });
        var app = builder.Build();
        if (useAsupersync) app.UseAsupersync();
        map(app);
        await app.StartAsync();
        return app;
    }

    [Fact]
    public async Task Handler_TakesACx_InARequestRegionOfItsOwn()
    {
        await using var app = await StartAsync(a => a.MapGet("/who", async (Cx cx, HttpContext http) =>
        {
            await cx.YieldAsync(); // a runtime await: the handler runs as a task
            Assert.Same(cx, http.GetCx());
            return $"{cx.RegionName}:{cx.RegionId}:{cx.State}";
        }));
        var client = app.GetTestClient();
        var first = (await client.GetStringAsync("/who").WaitAsync(HangGuard)).Split(':');
        var second = (await client.GetStringAsync("/who").WaitAsync(HangGuard)).Split(':');
        Assert.Equal("request", first[0]);
        Assert.Equal(nameof(TaskState.Running), first[2]);
        Assert.NotEqual(first[1], second[1]); // one region per request
    }

    [Fact]
    public async Task TaskSpawnedByTheHandler_FinishesBeforeTheResponseCompletes()
    {
        int childDone = 0;
        await using var app = await StartAsync(a => a.MapGet("/spawn", (Cx cx) =>
        {
            cx.Spawn("audit", async cx =>
            {
                await cx.SleepAsync(TimeSpan.FromMilliseconds(100));
                Volatile.Write(ref childDone, 1);
            });
            return "returned at once";
        }));
        var response = await app.GetTestClient().GetAsync("/spawn").WaitAsync(HangGuard);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, Volatile.Read(ref childDone));
    }

    [Fact]
    public async Task RequestBudget_CancelsAHangingHandler_With503()
    {
        CancelReason? seen = null;
        await using var app = await StartAsync(
            a => a.MapGet("/hang", async (Cx cx) =>
            {
                try
                {
                    await cx.SleepAsync(TimeSpan.FromHours(1));
                }
                finally
                {
                    seen = cx.CancelReason;
                }
                return "unreachable";
            }),
            o => o.RequestBudget = Budget.Timeout(TimeSpan.FromMilliseconds(100)));
        var response = await app.GetTestClient().GetAsync("/hang").WaitAsync(HangGuard);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.Contains("X-Asupersync-Cancel"));
        Assert.NotNull(seen);
        Assert.Contains(seen!.Kind, new[] { CancelKind.Timeout, CancelKind.Deadline });
    }

    [Fact]
    public async Task PanickingHandler_ReachesTheHostsErrorHandling()
    {
        await using var app = await StartAsync(a => a.MapGet("/boom", (Cx cx) =>
        {
            cx.Checkpoint();
            throw new InvalidOperationException("boom in handler");
        }));
        try
        {
            var response = await app.GetTestClient().GetAsync("/boom").WaitAsync(HangGuard);
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        }
        catch (InvalidOperationException e)
        {
            // TestServer rethrows an unhandled application exception to the client.
            Assert.Equal("boom in handler", e.Message);
        }
    }

    [Fact]
    public async Task CxParameter_WithoutUseAsupersync_IsAClearError()
    {
        await using var app = await StartAsync(a => a.MapGet("/nocx", (Cx cx) => cx.TaskName), useAsupersync: false);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => app.GetTestClient().GetAsync("/nocx").WaitAsync(HangGuard));
        Assert.Contains("UseAsupersync", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Background_RunsInTheRoot_AndIsCancelledAtShutdown()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        CancelReason? reason = null;
        var app = await StartAsync(_ => { }, o => o.Background = async (cx, _) =>
        {
            started.TrySetResult();
            try
            {
                await cx.SleepAsync(TimeSpan.FromHours(1));
            }
            finally
            {
                reason = cx.CancelReason;
            }
        });
        await started.Task.WaitAsync(HangGuard);
        await app.StopAsync().WaitAsync(HangGuard);
        var hosted = app.Services.GetRequiredService<AsupersyncHostedService>();
        var outcome = await hosted.Completion.WaitAsync(HangGuard);
        Assert.Equal(CancelKind.Shutdown, reason?.Kind);
        Assert.False(outcome.IsPanicked, outcome.ToString());
        await app.DisposeAsync();
    }
}
