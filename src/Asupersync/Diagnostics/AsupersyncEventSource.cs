using System.Diagnostics.Tracing;

namespace Asupersync.Diagnostics;

/// <summary>
/// Event counters for <c>dotnet-counters monitor --counters Asupersync</c> and any <see cref="EventListener"/>:
/// rates of spawns, completions, cancels, overruns and obligation outcomes, and the live gauges of
/// <see cref="KernelMetrics"/>. Counters exist only while a listener has the source enabled.
/// </summary>
[EventSource(Name = AsupersyncTelemetry.EventSourceName)]
internal sealed class AsupersyncEventSource : EventSource
{
    internal static readonly AsupersyncEventSource Log = new();

    private IncrementingEventCounter? _spawned;
    private IncrementingEventCounter? _completed;
    private IncrementingEventCounter? _cancelled;
    private IncrementingEventCounter? _panicked;
    private IncrementingEventCounter? _cancels;
    private IncrementingEventCounter? _overruns;
    private IncrementingEventCounter? _reserved;
    private IncrementingEventCounter? _committed;
    private IncrementingEventCounter? _aborted;
    private IncrementingEventCounter? _leaked;
    private PollingCounter? _liveTasks;
    private PollingCounter? _openRegions;
    private PollingCounter? _openObligations;

    private AsupersyncEventSource() : base(EventSourceSettings.EtwSelfDescribingEventFormat) { }

    protected override void OnEventCommand(EventCommandEventArgs command)
    {
        if (command.Command != EventCommand.Enable) return;
        // Created once, on the first enable; EventCounter publication is driven by the listener's interval.
        _spawned ??= new IncrementingEventCounter("tasks-spawned", this) { DisplayName = "Tasks spawned", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _completed ??= new IncrementingEventCounter("tasks-completed", this) { DisplayName = "Tasks completed", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _cancelled ??= new IncrementingEventCounter("tasks-cancelled", this) { DisplayName = "Tasks completed Cancelled", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _panicked ??= new IncrementingEventCounter("tasks-panicked", this) { DisplayName = "Tasks completed Panicked", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _cancels ??= new IncrementingEventCounter("cancels-requested", this) { DisplayName = "Cancel requests", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _overruns ??= new IncrementingEventCounter("budget-overruns", this) { DisplayName = "Budget overruns", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _reserved ??= new IncrementingEventCounter("obligations-reserved", this) { DisplayName = "Obligations reserved", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _committed ??= new IncrementingEventCounter("obligations-committed", this) { DisplayName = "Obligations committed", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _aborted ??= new IncrementingEventCounter("obligations-aborted", this) { DisplayName = "Obligations aborted", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _leaked ??= new IncrementingEventCounter("obligations-leaked", this) { DisplayName = "Obligations leaked", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
        _liveTasks ??= new PollingCounter("tasks-live", this, () => KernelMetrics.Sum(static r => r.LiveTasks)) { DisplayName = "Live tasks" };
        _openRegions ??= new PollingCounter("regions-open", this, () => KernelMetrics.Sum(static _ => 1)) { DisplayName = "Open regions" };
        _openObligations ??= new PollingCounter("obligations-open", this, () => KernelMetrics.Sum(static r => r.OpenObligations)) { DisplayName = "Open obligations" };
    }

    [NonEvent]
    internal void TaskSpawned() => _spawned?.Increment();

    [NonEvent]
    internal void TaskCompleted(OutcomeKind outcome)
    {
        _completed?.Increment();
        if (outcome == OutcomeKind.Cancelled) _cancelled?.Increment();
        else if (outcome == OutcomeKind.Panicked) _panicked?.Increment();
    }

    [NonEvent]
    internal void CancelRequested() => _cancels?.Increment();

    [NonEvent]
    internal void BudgetOverrun() => _overruns?.Increment();

    [NonEvent]
    internal void ObligationReserved() => _reserved?.Increment();

    [NonEvent]
    internal void ObligationResolved(ObligationState to)
    {
        switch (to)
        {
            case ObligationState.Committed: _committed?.Increment(); break;
            case ObligationState.Aborted: _aborted?.Increment(); break;
            case ObligationState.Leaked: _leaked?.Increment(); break;
        }
    }
}
