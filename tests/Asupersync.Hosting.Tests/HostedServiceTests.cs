using System.Collections.Concurrent;
using Asupersync.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Asupersync.Hosting.Tests;

public class HostedServiceTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private sealed class ListLogger : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message, EventId Event)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public void Dispose() { }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception), eventId));
    }

    private static IHost Build(Func<Cx, IServiceProvider, Task> body, ListLogger log, Action<AsupersyncHostOptions>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(log);
        builder.Services.AddSingleton(new Greeting("hello"));
        builder.Services.AddAsupersync(body, o =>
        {
            o.Runtime = new RuntimeOptions { WorkerCount = 2 };
            configure?.Invoke(o);
        });
        return builder.Build();
    }

    private sealed record Greeting(string Text);

    [Fact]
    public async Task StoppingTheHost_DeliversTheShutdownSignal_AndWaitsForCleanup()
    {
        var log = new ListLogger();
        string? seen = null;
        bool cleanedUp = false;
        var started = new TaskCompletionSource();
        using var host = Build(async (cx, services) =>
        {
            seen = services.GetRequiredService<Greeting>().Text;
            var worker = cx.Spawn("worker", async cx =>
            {
                try { started.TrySetResult(); await cx.SleepAsync(TimeSpan.FromHours(1)); }
                finally { await cx.SleepAsync(TimeSpan.FromMilliseconds(5)); cleanedUp = true; }
            });
            await cx.ShutdownSignalAsync();
            worker.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)), "host stopping");
        }, log);
        await host.StartAsync().WaitAsync(HangGuard);
        await started.Task.WaitAsync(HangGuard);
        var svc = host.Services.GetRequiredService<AsupersyncHostedService>();
        SpinWait.SpinUntil(() => svc.Runtime!.Core.ShutdownWaiterCount == 1, HangGuard); // the body is parked on the signal
        Assert.False(svc.Completion.IsCompleted);
        await host.StopAsync().WaitAsync(HangGuard);
        var outcome = await svc.Completion;
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.True(cleanedUp);
        Assert.Equal("hello", seen);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("closed: Ok"));
    }

    [Fact]
    public async Task EveryMessage_HasItsStableEventId()
    {
        Assert.Equal([1, 2, 3, 4, 10], new[] { AsupersyncHostingEvents.RootStarted, AsupersyncHostingEvents.RootClosed, AsupersyncHostingEvents.RootFailed, AsupersyncHostingEvents.ShutdownTimedOut, AsupersyncHostingEvents.RuntimeDiagnostic }.Select(e => e.Id));
        var ok = new ListLogger();
        using (var host = Build((cx, _) => cx.ShutdownSignalAsync().AsTask(), ok))
        {
            await host.StartAsync().WaitAsync(HangGuard);
            await host.StopAsync().WaitAsync(HangGuard);
        }
        Assert.Contains(ok.Entries, e => e.Event == AsupersyncHostingEvents.RootStarted && e.Event.Name == "RootStarted" && e.Level == LogLevel.Information && e.Message.Contains("started", StringComparison.Ordinal));
        Assert.True(ok.Entries.Any(e => e.Event == AsupersyncHostingEvents.RootClosed && e.Level == LogLevel.Information && e.Message.Contains("closed: ", StringComparison.Ordinal)), string.Join("\n", ok.Entries));
        // Every message of the service (they all start with "asupersync") has an id; the host's own messages need not.
        Assert.DoesNotContain(ok.Entries, e => e.Message.StartsWith("asupersync", StringComparison.Ordinal) && e.Event.Id == 0);

        var failed = new ListLogger();
        using (var host = Build(async (cx, _) => { await cx.YieldAsync(); throw new TaskErrorException("no config"); }, failed, o => o.StopApplicationWhenRootEnds = false))
        {
            await host.StartAsync().WaitAsync(HangGuard);
            await host.Services.GetRequiredService<AsupersyncHostedService>().Completion.WaitAsync(HangGuard);
            await host.StopAsync().WaitAsync(HangGuard);
        }
        Assert.Contains(failed.Entries, e => e.Event == AsupersyncHostingEvents.RootFailed && e.Level == LogLevel.Error && e.Message.Contains("no config", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RootThatFails_IsLoggedAsError_AndStopsTheApplication()
    {
        var log = new ListLogger();
        using var host = Build(async (cx, _) =>
        {
            await cx.YieldAsync();
            throw new TaskErrorException("config missing");
        }, log);
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = new TaskCompletionSource();
        lifetime.ApplicationStopping.Register(() => stopping.TrySetResult());
        await host.StartAsync().WaitAsync(HangGuard);
        await stopping.Task.WaitAsync(HangGuard);
        var outcome = await host.Services.GetRequiredService<AsupersyncHostedService>().Completion;
        Assert.Equal(OutcomeKind.Err, outcome.Kind);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("config missing"));
        await host.StopAsync().WaitAsync(HangGuard);
    }

    [Fact]
    public async Task RuntimeDiagnostics_AreLoggedAsWarnings()
    {
        var log = new ListLogger();
        var leaked = new TaskCompletionSource();
        using var host = Build(async (cx, _) =>
        {
            await cx.RegionAsync("leaky", cx =>
            {
                cx.Reserve(ObligationKind.IoOp, "unfinished write");
                return Task.CompletedTask;
            }, new RegionOptions { Policy = RegionPolicy.CollectAll });
            leaked.TrySetResult();
            await cx.ShutdownSignalAsync();
        }, log);
        await host.StartAsync().WaitAsync(HangGuard);
        await leaked.Task.WaitAsync(HangGuard);
        await host.StopAsync().WaitAsync(HangGuard);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning && e.Event == AsupersyncHostingEvents.RuntimeDiagnostic && e.Message.Contains("ObligationLeak") && e.Message.Contains("unfinished write"));
    }

    [Fact]
    public async Task HostShutdownTimeout_CancelsARootThatIgnoresTheSignal()
    {
        var log = new ListLogger();
        CancelReason? reason = null;
        var started = new TaskCompletionSource();
        using var host = Build(async (cx, _) =>
        {
            try { started.TrySetResult(); await cx.ShutdownSignalAsync(); await cx.SleepAsync(TimeSpan.FromHours(1)); }
            catch (CancelledException e) { reason = e.Reason; throw; }
        }, log);
        await host.StartAsync().WaitAsync(HangGuard);
        await started.Task.WaitAsync(HangGuard);
        var rt = host.Services.GetRequiredService<AsupersyncHostedService>().Runtime!;
        SpinWait.SpinUntil(() => rt.Core.ShutdownWaiterCount == 1, HangGuard); // parked on the signal
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await host.StopAsync(timeout.Token).WaitAsync(HangGuard);
        var outcome = await host.Services.GetRequiredService<AsupersyncHostedService>().Completion;
        Assert.Equal(OutcomeKind.Cancelled, outcome.Kind);
        Assert.Equal(CancelKind.Shutdown, reason!.Kind);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning && e.Event == AsupersyncHostingEvents.ShutdownTimedOut && e.Message.Contains("shutdown timeout"));
    }

    [Fact]
    public void AddAsupersync_RejectsNulls()
    {
        var services = new ServiceCollection();
        Assert.Throws<ArgumentNullException>(() => services.AddAsupersync(null!));
        Assert.Throws<ArgumentNullException>(() => AsupersyncServiceCollectionExtensions.AddAsupersync(null!, (cx, sp) => Task.CompletedTask));
    }
}
