using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using Asupersync.Diagnostics;

namespace Asupersync.Tests.Diagnostics;

/// <summary>The metrics are process-wide, so these tests run alone (no other test of this assembly runs meanwhile).</summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;

[Collection(nameof(MetricsCollection))]
public sealed class MetricsTests
{
    /// <summary>Sums every measurement of the Asupersync meter by instrument name and tag value.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _sums = new();
        private readonly ConcurrentDictionary<string, long> _last = new();

        public Recorder()
        {
            _listener.InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == AsupersyncTelemetry.MeterName) l.EnableMeasurementEvents(i);
            };
            _listener.SetMeasurementEventCallback<long>((i, value, tags, _) =>
            {
                string key = i.Name;
                foreach (var t in tags) key += "|" + t.Key + "=" + t.Value;
                if (i is ObservableInstrument<long>) _last[key] = value;
                else _sums.AddOrUpdate(key, value, (_, v) => v + value);
            });
            _listener.Start();
        }

        public long Sum(string name, string? tag = null) => _sums.GetValueOrDefault(tag is null ? name : name + "|" + tag);

        public long Observe(string name)
        {
            _listener.RecordObservableInstruments();
            return _last.GetValueOrDefault(name);
        }

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task Counters_CountSpawnsCompletionsCancelsAndObligations()
    {
        using var rec = new Recorder();
        var outcome = await TestRuntime.RunAsync(async cx =>
        {
            var ok = cx.Spawn("ok", async cx => { await cx.YieldAsync(); return 1; });
            var sleeper = cx.Spawn("sleeper", async cx => await cx.SleepAsync(TimeSpan.FromHours(1)));
            await cx.WaitStartedAsync(sleeper);
            sleeper.Cancel();
            await sleeper.JoinAsync(cx);
            await ok.JoinAsync(cx);
            cx.Reserve(ObligationKind.Custom, "committed").Commit();
            cx.Reserve(ObligationKind.Custom, "aborted").Abort();
            using (cx.Reserve(ObligationKind.Custom, "disposed")) { }
        });
        Assert.True(outcome.IsOk, outcome.ToString());

        // The root task (the body) and its two children.
        Assert.Equal(3, rec.Sum(AsupersyncTelemetry.Instruments.TasksSpawned));
        Assert.Equal(2, rec.Sum(AsupersyncTelemetry.Instruments.TasksCompleted, "outcome=ok"));
        Assert.Equal(1, rec.Sum(AsupersyncTelemetry.Instruments.TasksCompleted, "outcome=cancelled"));
        Assert.Equal(1, rec.Sum(AsupersyncTelemetry.Instruments.CancelsRequested, "reason=User"));
        Assert.Equal(1, rec.Sum(AsupersyncTelemetry.Instruments.RegionsOpened));
        Assert.Equal(3, rec.Sum(AsupersyncTelemetry.Instruments.ObligationsReserved));
        Assert.Equal(1, rec.Sum(AsupersyncTelemetry.Instruments.ObligationsResolved, "state=committed"));
        Assert.Equal(2, rec.Sum(AsupersyncTelemetry.Instruments.ObligationsResolved, "state=aborted"));
    }

    [Fact]
    public async Task Counters_CountLeakedObligations()
    {
        using var rec = new Recorder();
        var outcome = await TestRuntime.RunAsync(async cx =>
        {
            var leaker = cx.Spawn("leaker", cx => { cx.Reserve(ObligationKind.Custom, "forgotten"); return Task.CompletedTask; });
            await leaker.JoinAsync(cx);
        }, new RuntimeOptions { WorkerCount = 2, LeakResponse = LeakResponse.Record });
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal(1, rec.Sum(AsupersyncTelemetry.Instruments.ObligationsResolved, "state=leaked"));
    }

    [Fact]
    public async Task Gauges_SeeLiveTasksAndOpenObligationsOfARunningRuntime()
    {
        using var rec = new Recorder();
        long tasksBefore = rec.Observe(AsupersyncTelemetry.Instruments.TasksLive);
        long obligationsBefore = rec.Observe(AsupersyncTelemetry.Instruments.ObligationsOpen);
        long timersBefore = rec.Observe(AsupersyncTelemetry.Instruments.TimersPending);
        long tasksDuring = 0, obligationsDuring = 0, timersDuring = 0;

        await using (var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 }))
        {
            var o = await rt.RunAsync(async cx =>
            {
                using var held = cx.Reserve(ObligationKind.Custom, "held");
                var sleeper = cx.Spawn("sleeper", async cx => await cx.SleepAsync(TimeSpan.FromHours(1)));
                await cx.WaitStartedAsync(sleeper);
                for (int i = 0; i < 100_000 && rt.Core.Timers.Count == 0; i++) await cx.YieldAsync();
                tasksDuring = rec.Observe(AsupersyncTelemetry.Instruments.TasksLive);
                obligationsDuring = rec.Observe(AsupersyncTelemetry.Instruments.ObligationsOpen);
                timersDuring = rec.Observe(AsupersyncTelemetry.Instruments.TimersPending);
                sleeper.Cancel();
                held.Commit();
            }).WaitAsync(TestRuntime.HangGuard);
            Assert.True(o.IsOk, o.ToString());
        }

        Assert.True(tasksDuring - tasksBefore >= 2, $"live tasks {tasksBefore} -> {tasksDuring}");
        Assert.Equal(1, obligationsDuring - obligationsBefore);
        Assert.True(timersDuring - timersBefore >= 1, $"pending timers {timersBefore} -> {timersDuring}");
        // Disposed: the runtime no longer contributes.
        Assert.Equal(tasksBefore, rec.Observe(AsupersyncTelemetry.Instruments.TasksLive));
        Assert.Equal(obligationsBefore, rec.Observe(AsupersyncTelemetry.Instruments.ObligationsOpen));
    }

    [Fact]
    public async Task Instruments_AreSilentWithoutAListener()
    {
        // Nothing subscribed: running a program must not fail, and a listener attached later starts from zero.
        await TestRuntime.RunAsync(async cx => await cx.Spawn("t", cx => Task.CompletedTask).JoinAsync(cx));
        using var rec = new Recorder();
        Assert.Equal(0, rec.Sum(AsupersyncTelemetry.Instruments.TasksSpawned));
    }

    private sealed class CounterListener : EventListener
    {
        public readonly ConcurrentDictionary<string, double> Increments = new();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == AsupersyncTelemetry.EventSourceName)
                EnableEvents(source, EventLevel.Informational, EventKeywords.All, new Dictionary<string, string?> { ["EventCounterIntervalSec"] = "0.1" });
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName != "EventCounters" || e.Payload is not { Count: > 0 } || e.Payload[0] is not IDictionary<string, object> p) return;
            if (p.TryGetValue("Name", out var name) && p.TryGetValue("Increment", out var inc))
                Increments.AddOrUpdate((string)name, Convert.ToDouble(inc), (_, v) => v + Convert.ToDouble(inc));
        }
    }

    [Fact]
    public async Task EventSource_PublishesCountersForDotnetCounters()
    {
        using var listener = new CounterListener();
        await TestRuntime.RunAsync(async cx =>
        {
            for (int i = 0; i < 5; i++) await cx.Spawn("t" + i, cx => Task.CompletedTask).JoinAsync(cx);
        });
        // Counters are published on the listener's interval; wait (bounded, far above the interval) until they are.
        var until = DateTime.UtcNow + TestRuntime.HangGuard;
        while (listener.Increments.GetValueOrDefault("tasks-spawned") < 6 && DateTime.UtcNow < until) await Task.Delay(50);
        Assert.Equal(6, listener.Increments.GetValueOrDefault("tasks-spawned"));
    }
}
