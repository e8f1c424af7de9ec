using Asupersync.Kernel;

namespace Asupersync;

/// <summary>What a <see cref="DiagnosticEvent"/> reports.</summary>
public enum DiagnosticKind
{
    /// <summary>A task ended Ok or Err still holding Reserved obligations (or a region closed with some).</summary>
    ObligationLeak,

    /// <summary>A task ran past its cleanup budget, or never reached a checkpoint after a cancel.</summary>
    BudgetOverrun,

    /// <summary>A region finalizer threw.</summary>
    FinalizerFailed,

    /// <summary>Code posted to a task's context (e.g. an async void lambda) threw.</summary>
    UnhandledStepException,

    /// <summary>A callback registered on a task's <see cref="Cx.CancellationToken"/> threw.</summary>
    TokenCallbackFailed,

    /// <summary>A listener's accept failed transiently (out of file descriptors or buffers) and is retried with backoff; or it recovered.</summary>
    AcceptFailed,

    /// <summary>The commit or abort hook of a user obligation (<see cref="ObligationEffects.Reserve"/>) threw.</summary>
    ObligationHookFailed,

    /// <summary>A trapped wait-for cycle: every task on it waits (with no timer or cancel pending) on a task of the cycle. The message names tasks, resources and holders.</summary>
    Deadlock,
}

/// <summary>One diagnostic: what happened, to which task and region, and when (runtime time).</summary>
/// <param name="Kind">What happened.</param>
/// <param name="TaskId">The task (0 when none).</param>
/// <param name="TaskName">The task's name (empty when none).</param>
/// <param name="RegionId">The region.</param>
/// <param name="RegionName">The region's name.</param>
/// <param name="Time">Runtime time.</param>
/// <param name="Message">A human-readable account.</param>
public sealed record DiagnosticEvent(DiagnosticKind Kind, long TaskId, string TaskName, long RegionId, string RegionName, TimeSpan Time, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"[{Kind}] {Message}";
}

/// <summary>Counters and the most recent diagnostics of a runtime. Thread-safe.</summary>
public sealed class RuntimeDiagnostics
{
    private const int MaxKept = 1024;
    private readonly RuntimeCore _rt;
    private readonly Queue<DiagnosticEvent> _recent = new();
    private long _spawned;
    private long _leaks;
    private long _overruns;

    internal RuntimeDiagnostics(RuntimeCore rt) => _rt = rt;

    /// <summary>Raised for every diagnostic, on the thread that produced it. Handlers must be quick and must not throw.</summary>
    public event Action<DiagnosticEvent>? Reported;

    /// <summary>Tasks spawned (including region bodies) in regions that have closed so far.</summary>
    public long TasksSpawned => Interlocked.Read(ref _spawned);

    /// <summary>Obligations that leaked so far (each counted once).</summary>
    public long ObligationsLeaked => Interlocked.Read(ref _leaks);

    /// <summary>Budget overruns reported so far.</summary>
    public long BudgetOverruns => Interlocked.Read(ref _overruns);

    /// <summary>The most recent diagnostics (up to 1024), oldest first.</summary>
    public IReadOnlyList<DiagnosticEvent> Recent
    {
        get { lock (_recent) return _recent.ToArray(); }
    }

    internal void OnSpawned(long count) => Interlocked.Add(ref _spawned, count);

    internal void OnLeakCounted() => Interlocked.Increment(ref _leaks);

    internal void ReportLeak(TaskCore? task, string message, RegionCore? region = null) =>
        Publish(DiagnosticKind.ObligationLeak, task, message, region);

    internal void Report(DiagnosticKind kind, TaskCore? task, string message)
    {
        if (kind == DiagnosticKind.BudgetOverrun) Interlocked.Increment(ref _overruns);
        Publish(kind, task, message, null);
    }

    private void Publish(DiagnosticKind kind, TaskCore? task, string message, RegionCore? region)
    {
        global::Asupersync.Diagnostics.KernelMetrics.Diagnostic(kind);
        region ??= task?.Region;
        var e = new DiagnosticEvent(kind, task?.Id ?? 0, task?.Name ?? "", region?.Id ?? 0, region?.Name ?? "", _rt.Now, message);
        lock (_recent)
        {
            if (_recent.Count == MaxKept) _recent.Dequeue();
            _recent.Enqueue(e);
        }
        try { Reported?.Invoke(e); }
        catch (Exception) { /* a diagnostics handler must never take the runtime down */ }
    }
}
