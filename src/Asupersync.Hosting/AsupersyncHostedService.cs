using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Asupersync.Hosting;

/// <summary>
/// Runs an Asupersync root region for the lifetime of a .NET host. Start creates the runtime and starts the root
/// body; stop delivers the shutdown signal (<see cref="Cx.ShutdownSignalAsync"/> completes, or, when no task
/// waits for it, the root is cancelled with <see cref="CancelKind.Shutdown"/>) and waits for the root region
/// to close. If the host's shutdown timeout runs out first, the root is cancelled with Shutdown and the runtime
/// waits for the drain it then gets (the Shutdown tier's cleanup allowance).
/// </summary>
/// <remarks>
/// Runtime diagnostics (obligation leaks, budget overruns, failing finalizers) are logged as warnings; the root's
/// outcome is logged when it closes (an error for Err, Cancelled other than by shutdown, and Panicked). Every
/// message has a stable event id (<see cref="AsupersyncHostingEvents"/>). Each run
/// is an <see cref="Activity"/> named <c>asupersync.root</c> on the <see cref="ActivitySourceName"/> source.
/// </remarks>
public sealed class AsupersyncHostedService : IHostedService, IAsyncDisposable
{
    /// <summary>The name of the <see cref="ActivitySource"/> the service reports on.</summary>
    public const string ActivitySourceName = "Asupersync";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    private readonly Func<Cx, IServiceProvider, Task> _body;
    private readonly AsupersyncHostOptions _options;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly TaskCompletionSource<Outcome<Unit>> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Runtime? _runtime;
    private volatile bool _stopping;

    /// <summary>Creates the service (normally through <see cref="AsupersyncServiceCollectionExtensions.AddAsupersync"/>).</summary>
    /// <param name="body">The root body; it receives the root Cx and the host's services.</param>
    /// <param name="options">Settings.</param>
    /// <param name="services">The host's services, passed to the body.</param>
    /// <param name="logger">Where diagnostics and the root outcome go.</param>
    /// <param name="lifetime">The application lifetime, stopped when the root ends by itself (optional).</param>
    public AsupersyncHostedService(
        Func<Cx, IServiceProvider, Task> body,
        AsupersyncHostOptions options,
        IServiceProvider services,
        ILogger<AsupersyncHostedService> logger,
        IHostApplicationLifetime? lifetime = null)
    {
        _body = body ?? throw new ArgumentNullException(nameof(body));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _services = services ?? throw new ArgumentNullException(nameof(services));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _lifetime = lifetime;
    }

    /// <summary>Completes with the root region's outcome once it closed.</summary>
    public Task<Outcome<Unit>> Completion => _completion.Task;

    /// <summary>The running runtime (null before start).</summary>
    public Runtime? Runtime => _runtime;

    /// <summary>Starts the runtime and the root body; returns without waiting for the body.</summary>
    /// <param name="cancellationToken">The host's start token.</param>
    /// <returns>A completed task.</returns>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_runtime is not null) throw new InvalidOperationException("The Asupersync hosted service was already started.");
        cancellationToken.ThrowIfCancellationRequested();
        var rt = Asupersync.Runtime.Create(_options.Runtime with { PrintDiagnostics = false });
        rt.Diagnostics.Reported += e => AsupersyncHostingLog.RuntimeDiagnostic(_logger, e.Kind.ToString(), e.Message, e.TaskName, e.RegionName);
        _runtime = rt;
        var activity = Source.StartActivity("asupersync.root", ActivityKind.Internal);
        activity?.SetTag("asupersync.region", _options.RootName);
        AsupersyncHostingLog.RootStarted(_logger, _options.RootName);
        var run = rt.RunAsync(cx => _body(cx, _services), _options.RootName);
        run.ContinueWith(t => OnRootClosed(t.Result, activity), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    private void OnRootClosed(Outcome<Unit> outcome, Activity? activity)
    {
        bool byShutdown = outcome.CancelReason?.Kind == CancelKind.Shutdown;
        if (outcome.IsOk || byShutdown)
        {
            AsupersyncHostingLog.RootClosed(_logger, _options.RootName, outcome.ToString());
            activity?.SetStatus(ActivityStatusCode.Ok);
        }
        else
        {
            AsupersyncHostingLog.RootFailed(_logger, outcome.Exception ?? outcome.Error, _options.RootName, outcome.ToString());
            activity?.SetStatus(ActivityStatusCode.Error, outcome.ToString());
        }
        activity?.SetTag("asupersync.outcome", outcome.Kind.ToString());
        activity?.Dispose();
        _completion.TrySetResult(outcome);
        if (!_stopping && _options.StopApplicationWhenRootEnds) _lifetime?.StopApplication();
    }

    /// <summary>
    /// Delivers the shutdown signal and waits for the root region to close; when <paramref name="cancellationToken"/>
    /// fires first (the host's shutdown timeout), cancels the root with Shutdown and waits for its drain.
    /// </summary>
    /// <param name="cancellationToken">The host's stop token.</param>
    /// <returns>A task completing when the root closed.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var rt = _runtime;
        if (rt is null) return;
        _stopping = true;
        rt.RequestShutdown();
        try
        {
            await _completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            AsupersyncHostingLog.ShutdownTimedOut(_logger, _options.RootName);
            rt.RequestShutdown(); // a second signal always cancels
            await _completion.Task.ConfigureAwait(false);
        }
        await rt.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops the runtime if it is still running (cancelling the root with Shutdown).</summary>
    /// <returns>A task completing when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_runtime is { } rt) await rt.DisposeAsync().ConfigureAwait(false);
    }
}
