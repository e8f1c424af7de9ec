using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Asupersync.Kernel;

namespace Asupersync.Diagnostics;

/// <summary>
/// The kernel's instruments. Each hook is a static field read and a branch while nobody listens (the Meter's
/// <see cref="Instrument.Enabled"/> and the event source's <see cref="System.Diagnostics.Tracing.EventSource.IsEnabled()"/>), so the
/// kernel calls them unconditionally; the work happens only for a listener. Gauges are observed, not maintained:
/// a listener's poll walks the live runtimes' region trees, so the hot paths pay nothing for them.
/// </summary>
internal static class KernelMetrics
{
    internal static readonly Meter Meter = new(AsupersyncTelemetry.MeterName, typeof(KernelMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> s_spawned = Meter.CreateCounter<long>(AsupersyncTelemetry.Instruments.TasksSpawned, "{task}", "Tasks spawned (region bodies included).");
    private static readonly Counter<long> s_completed = Meter.CreateCounter<long>(AsupersyncTelemetry.Instruments.TasksCompleted, "{task}", "Tasks completed, by outcome.");
    private static readonly Counter<long> s_cancels = Meter.CreateCounter<long>(AsupersyncTelemetry.Instruments.CancelsRequested, "{cancel}", "First cancel requests delivered to tasks, by reason kind.");
    private static readonly Counter<long> s_overruns = Meter.CreateCounter<long>(AsupersyncTelemetry.Instruments.BudgetOverruns, "{task}", "Tasks and finalizers that overran their cleanup budget.");
    private static readonly Counter<long> s_regions = Meter.CreateCounter<long>(AsupersyncTelemetry.Instruments.RegionsOpened, "{region}", "Regions opened.");
    private static readonly Counter<long> s_reserved = Meter.CreateCounter<long>(AsupersyncTelemetry.Instruments.ObligationsReserved, "{obligation}", "Obligations reserved.");
    private static readonly Counter<long> s_resolved = Meter.CreateCounter<long>(AsupersyncTelemetry.Instruments.ObligationsResolved, "{obligation}", "Obligations resolved, by final state.");
    private static readonly Counter<long> s_finalizerFailures = Meter.CreateCounter<long>(AsupersyncTelemetry.Instruments.FinalizerFailures, "{finalizer}", "Region finalizers that threw.");

    // Tags built once: a measurement with a tag then allocates nothing.
    private static readonly KeyValuePair<string, object?>[] s_outcomeTags =
        Enum.GetValues<OutcomeKind>().Select(k => new KeyValuePair<string, object?>("outcome", k.ToString().ToLowerInvariant())).ToArray();
    private static readonly KeyValuePair<string, object?>[] s_stateTags =
        Enum.GetValues<ObligationState>().Select(k => new KeyValuePair<string, object?>("state", k.ToString().ToLowerInvariant())).ToArray();
    private static readonly Dictionary<CancelKind, KeyValuePair<string, object?>> s_reasonTags =
        Enum.GetValues<CancelKind>().ToDictionary(k => k, k => new KeyValuePair<string, object?>("reason", k.ToString()));

    // Production runtimes (Runtime.Create) that are not disposed yet, for the gauges. Lab runtimes are not listed:
    // an exploration makes thousands and none outlives its run.
    private static readonly List<RuntimeCore> s_live = new();

    static KernelMetrics()
    {
        Meter.CreateObservableUpDownCounter(AsupersyncTelemetry.Instruments.TasksLive, () => Sum(static r => r.LiveTasks), "{task}", "Tasks not yet completed in the live runtimes.");
        Meter.CreateObservableUpDownCounter(AsupersyncTelemetry.Instruments.RegionsOpen, () => Sum(static _ => 1), "{region}", "Regions not yet closed in the live runtimes.");
        Meter.CreateObservableUpDownCounter(AsupersyncTelemetry.Instruments.ObligationsOpen, () => Sum(static r => r.OpenObligations), "{obligation}", "Obligations reserved and not yet resolved in the live runtimes.");
        Meter.CreateObservableGauge(AsupersyncTelemetry.Instruments.Potential, PotentialValue, "1", "The Lyapunov potential V summed over the live runtimes (each with its own weights).");
        Meter.CreateObservableUpDownCounter(AsupersyncTelemetry.Instruments.TimersPending, TimersPending, "{timer}", "Timers armed and not yet fired in the live runtimes.");
    }

    internal static void Register(RuntimeCore runtime)
    {
        lock (s_live) s_live.Add(runtime);
    }

    internal static void Unregister(RuntimeCore runtime)
    {
        lock (s_live) s_live.Remove(runtime);
    }

    private static RuntimeCore[] LiveRuntimes()
    {
        lock (s_live) return s_live.ToArray();
    }

    /// <summary>Sums <paramref name="of"/> over every open region of every live runtime.</summary>
    internal static long Sum(Func<RegionCore, int> of)
    {
        long total = 0;
        var stack = new Stack<RegionCore>();
        foreach (var rt in LiveRuntimes())
        {
            foreach (var root in rt.OpenRoots) stack.Push(root);
            while (stack.Count > 0)
            {
                var r = stack.Pop();
                total += of(r);
                foreach (var c in r.Children) stack.Push(c);
            }
        }
        return total;
    }

    private static double PotentialValue()
    {
        double total = 0;
        foreach (var rt in LiveRuntimes()) total += rt.ReadPotential().Value;
        return total;
    }

    private static long TimersPending()
    {
        long total = 0;
        foreach (var rt in LiveRuntimes()) total += rt.Timers.Count;
        return total;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void TaskSpawned()
    {
        if (s_spawned.Enabled) s_spawned.Add(1);
        if (AsupersyncEventSource.Log.IsEnabled()) AsupersyncEventSource.Log.TaskSpawned();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void TaskCompleted(OutcomeKind outcome)
    {
        if (s_completed.Enabled) s_completed.Add(1, s_outcomeTags[(int)outcome]);
        if (AsupersyncEventSource.Log.IsEnabled()) AsupersyncEventSource.Log.TaskCompleted(outcome);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CancelRequested(CancelKind reason)
    {
        if (s_cancels.Enabled) s_cancels.Add(1, s_reasonTags[reason]);
        if (AsupersyncEventSource.Log.IsEnabled()) AsupersyncEventSource.Log.CancelRequested();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void RegionOpened()
    {
        if (s_regions.Enabled) s_regions.Add(1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ObligationReserved()
    {
        if (s_reserved.Enabled) s_reserved.Add(1);
        if (AsupersyncEventSource.Log.IsEnabled()) AsupersyncEventSource.Log.ObligationReserved();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ObligationResolved(ObligationState to)
    {
        if (s_resolved.Enabled) s_resolved.Add(1, s_stateTags[(int)to]);
        if (AsupersyncEventSource.Log.IsEnabled()) AsupersyncEventSource.Log.ObligationResolved(to);
    }

    /// <summary>Called for every diagnostic the runtime reports (already off the hot path).</summary>
    internal static void Diagnostic(DiagnosticKind kind)
    {
        switch (kind)
        {
            case DiagnosticKind.BudgetOverrun:
                if (s_overruns.Enabled) s_overruns.Add(1);
                if (AsupersyncEventSource.Log.IsEnabled()) AsupersyncEventSource.Log.BudgetOverrun();
                break;
            case DiagnosticKind.FinalizerFailed:
                if (s_finalizerFailures.Enabled) s_finalizerFailures.Add(1);
                break;
        }
    }
}
