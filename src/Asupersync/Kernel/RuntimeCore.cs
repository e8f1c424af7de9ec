using Asupersync.Time;

namespace Asupersync.Kernel;

/// <summary>The kernel: ids, timers, the shutdown signal, diagnostics and the driver it runs on.</summary>
internal sealed partial class RuntimeCore
{
    private long _ids;
    private readonly object _shutdownGate = new();
    private List<ShutdownOp>? _shutdownWaiters;
    private bool _shutdownSignalled;
    private readonly List<RegionCore> _roots = new();

    internal RuntimeCore(Driver driver, RuntimeOptions options)
    {
        Driver = driver;
        Options = options;
        Potential.Enabled = options.TrackPotential;
        Diagnostics = new RuntimeDiagnostics(this);
        Timers = new TimerQueue();
        driver.Core = this;
    }

    internal readonly Driver Driver;
    internal readonly RuntimeOptions Options;
    internal readonly RuntimeDiagnostics Diagnostics;
    internal readonly TimerQueue Timers;
    internal IRuntimeObserver? Observer;

    /// <summary>
    /// True under a driver that explores schedules (the Lab): every synchronization operation then yields to the
    /// driver first (<see cref="ChoicePoint"/>). Always false in production. Set before the first task runs.
    /// </summary>
    internal bool ChoicePoints;

    internal TimeSpan Now => Driver.Now;

    private readonly Dictionary<Type, object> _services = new();

    /// <summary>
    /// Per-runtime services that sibling packages attach (e.g. the network provider: real sockets in production,
    /// the virtual network in the Lab). Keyed by type; set before the first task uses it.
    /// </summary>
    internal T? GetService<T>() where T : class
    {
        lock (_services) return _services.TryGetValue(typeof(T), out var s) ? (T)s : null;
    }

    internal void SetService<T>(T service) where T : class
    {
        lock (_services) _services[typeof(T)] = service;
    }

    internal T GetOrAddService<T>(Func<RuntimeCore, T> create) where T : class
    {
        lock (_services)
        {
            if (_services.TryGetValue(typeof(T), out var s)) return (T)s;
            var created = create(this);
            _services[typeof(T)] = created;
            return created;
        }
    }

    internal long NextId() => Interlocked.Increment(ref _ids);

    internal TimerEntry AddTimer(TimeSpan due, Action<object?> callback, object? state)
    {
        var e = Timers.Add(due, callback, state, out bool earliest);
        // Lab: timers with the same due time fire in registration order, so adding one is a dependency.
        Observer?.OnAccess(due.Ticks, "timer");
        if (earliest) Driver.TimerAdded(due);
        return e;
    }

    /// <summary>Opens a root region whose body is <paramref name="body"/>; <paramref name="onClosed"/> runs when it closed.</summary>
    internal (RegionCore Region, TaskCore<T> Main) StartRoot<T>(string name, object body, RegionOptions options, Action<RegionCore, TaskCore<T>> onClosed)
    {
        var region = new RegionCore(this, name, null, null, options);
        lock (_roots) _roots.Add(region);
        region.Start();
        var main = region.Spawn<T>(name, body, Budget.Unlimited, Options.RootCapabilities, isMain: true);
        region.WhenClosed(() =>
        {
            lock (_roots) _roots.Remove(region);
            onClosed(region, main);
        });
        return (region, main);
    }

    /// <summary>
    /// Starts a root region whose body is <paramref name="body"/> and completes <paramref name="waiter"/> with its
    /// outcome when it closed: the same as the overload with a callback, without a closure or a waiter list.
    /// </summary>
    internal void StartRoot<T>(string name, object body, RegionOptions options, RootWaiter<T> waiter)
    {
        var region = new RegionCore(this, name, null, null, options);
        lock (_roots) _roots.Add(region);
        region.Start();
        waiter.Core = this;
        waiter.Main = region.Spawn<T>(name, body, Budget.Unlimited, Options.RootCapabilities, isMain: true);
        region.WhenClosed(waiter);
    }

    internal void RemoveRoot(RegionCore region)
    {
        lock (_roots) _roots.Remove(region);
    }

    internal RegionCore[] OpenRoots
    {
        get { lock (_roots) return _roots.ToArray(); }
    }

    // ---------------------------------------------------------------- shutdown signal

    internal ValueTask WaitShutdownAsync(TaskCore waiter)
    {
        waiter.Checkpoint();
        ShutdownOp op;
        lock (_shutdownGate)
        {
            if (_shutdownSignalled) return ValueTask.CompletedTask;
            op = new ShutdownOp(waiter, this);
            (_shutdownWaiters ??= new List<ShutdownOp>()).Add(op);
        }
        Observer?.OnWait(waiter, "shutdown", 0);
        op.Register();
        return op.AsUntypedValueTask();
    }

    internal int ShutdownWaiterCount
    {
        get { lock (_shutdownGate) return _shutdownWaiters?.Count ?? 0; }
    }

    internal void RemoveShutdownWaiter(ShutdownOp op)
    {
        lock (_shutdownGate) _shutdownWaiters?.Remove(op);
    }

    /// <summary>
    /// First signal: wakes the tasks waiting in <see cref="Cx.ShutdownSignalAsync"/>; when none waits, cancels
    /// every root region with <see cref="CancelKind.Shutdown"/>. A second signal always cancels.
    /// </summary>
    internal void SignalShutdown(string source)
    {
        List<ShutdownOp>? waiters;
        bool cancel;
        lock (_shutdownGate)
        {
            cancel = _shutdownSignalled || _shutdownWaiters is not { Count: > 0 };
            _shutdownSignalled = true;
            waiters = _shutdownWaiters;
            _shutdownWaiters = null;
        }
        if (waiters is not null) foreach (var w in waiters) w.TrySetResult(default);
        if (cancel) CancelRoots(new CancelReason(CancelKind.Shutdown, source, Now));
    }

    internal void CancelRoots(CancelReason reason)
    {
        foreach (var r in OpenRoots) r.RequestCancel(reason, Budget.Unlimited);
    }
}

/// <summary>The completion of a root run (<see cref="RuntimeCore.StartRoot{T}(string, object, RegionOptions, RootWaiter{T})"/>).</summary>
internal sealed class RootWaiter<T> : TaskCompletionSource<Outcome<T>>, IRegionCloseWaiter
{
    internal RootWaiter() : base(TaskCreationOptions.RunContinuationsAsynchronously) { }

    internal RuntimeCore Core = null!;
    internal TaskCore<T> Main = null!;

    void IRegionCloseWaiter.OnRegionClosed(RegionCore region)
    {
        Core.RemoveRoot(region);
        TrySetResult(region.OutcomeFor(Main));
    }
}
