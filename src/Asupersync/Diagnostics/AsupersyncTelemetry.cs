namespace Asupersync.Diagnostics;

/// <summary>
/// The names under which the runtime reports to .NET's observability stack: a <see cref="System.Diagnostics.Metrics.Meter"/>
/// (for OpenTelemetry, <c>dotnet-counters</c> and any <see cref="System.Diagnostics.Metrics.MeterListener"/>), an
/// <see cref="System.Diagnostics.Tracing.EventSource"/> with event counters, and an
/// <see cref="System.Diagnostics.ActivitySource"/>.
/// </summary>
/// <remarks>
/// Every instrument costs one field read per event while nobody listens. Counters count what happened in every
/// runtime of the process (Lab runs included); the <c>*.live</c>/<c>*.open</c> gauges sum the runtimes created
/// with <see cref="Runtime.Create"/> that are not yet disposed.
/// <code>
/// // OpenTelemetry: builder.Services.AddOpenTelemetry().WithMetrics(m =&gt; m.AddMeter(AsupersyncTelemetry.MeterName));
/// // dotnet-counters monitor -n myapp --counters Asupersync
/// </code>
/// </remarks>
public static class AsupersyncTelemetry
{
    /// <summary>The name of the runtime's <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    public const string MeterName = "Asupersync";

    /// <summary>The name of the runtime's <see cref="System.Diagnostics.Tracing.EventSource"/> (event counters).</summary>
    public const string EventSourceName = "Asupersync";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> that region and request activities are started on.</summary>
    public const string ActivitySourceName = "Asupersync";

    /// <summary>The instruments of the <see cref="MeterName"/> meter, by name.</summary>
    public static class Instruments
    {
        /// <summary>Counter: tasks spawned (region bodies included).</summary>
        public const string TasksSpawned = "asupersync.tasks.spawned";

        /// <summary>Counter: tasks completed, tagged <c>outcome</c> (ok, err, cancelled, panicked).</summary>
        public const string TasksCompleted = "asupersync.tasks.completed";

        /// <summary>Observable up-down counter: tasks not yet completed in the live runtimes.</summary>
        public const string TasksLive = "asupersync.tasks.live";

        /// <summary>Counter: first cancel requests delivered to tasks, tagged <c>reason</c> (the <see cref="CancelKind"/>).</summary>
        public const string CancelsRequested = "asupersync.cancels.requested";

        /// <summary>Counter: tasks (and finalizers) that overran their cleanup budget.</summary>
        public const string BudgetOverruns = "asupersync.budget.overruns";

        /// <summary>Counter: regions opened.</summary>
        public const string RegionsOpened = "asupersync.regions.opened";

        /// <summary>Observable up-down counter: regions not yet closed in the live runtimes.</summary>
        public const string RegionsOpen = "asupersync.regions.open";

        /// <summary>Counter: obligations reserved.</summary>
        public const string ObligationsReserved = "asupersync.obligations.reserved";

        /// <summary>Counter: obligations resolved, tagged <c>state</c> (committed, aborted, leaked).</summary>
        public const string ObligationsResolved = "asupersync.obligations.resolved";

        /// <summary>Observable up-down counter: obligations reserved and not yet resolved in the live runtimes.</summary>
        public const string ObligationsOpen = "asupersync.obligations.open";

        /// <summary>Counter: region finalizers that threw.</summary>
        public const string FinalizerFailures = "asupersync.finalizers.failed";

        /// <summary>Observable up-down counter: timers armed and not yet fired in the live runtimes.</summary>
        public const string TimersPending = "asupersync.timers.pending";

        /// <summary>Observable gauge: the Lyapunov potential V (see <see cref="Asupersync.Potential"/>) summed over the live runtimes.</summary>
        public const string Potential = "asupersync.potential";
    }
}
