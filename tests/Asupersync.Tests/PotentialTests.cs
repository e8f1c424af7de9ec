using System.Diagnostics.Metrics;
using Asupersync.Diagnostics;

namespace Asupersync.Tests;

/// <summary>The Lyapunov potential on the production (multi-threaded) runtime.</summary>
public class PotentialTests
{
    [Fact]
    public async Task Potential_CountsHeldWork_AndReturnsToZero_OnTheRealRuntime()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false, PotentialWeights = PotentialWeights.ObligationFocused });
        Potential inside = default, recount = default;
        var outcome = await rt.RunAsync(async cx =>
        {
            var hs = new List<TaskHandle<Unit>>();
            for (int i = 0; i < 8; i++)
            {
                hs.Add(cx.Spawn($"w{i}", async c =>
                {
                    var o = c.Reserve(ObligationKind.SendPermit, "held");
                    try
                    {
                        await c.SleepAsync(TimeSpan.FromHours(1));
                    }
                    finally
                    {
                        o.Commit();
                    }
                }, i % 2 == 0 ? Budget.Timeout(TimeSpan.FromHours(2)) : Budget.Unlimited));
            }
            // Wait (on runtime time, bounded by count not by speed) until every worker holds its obligation.
            while (rt.Potential.OpenObligations < 8) await cx.YieldAsync();
            inside = rt.Potential;
            recount = rt.Core.RecountPotential();
            cx.CancelRegion("drain");
            foreach (var h in hs)
            {
                try { await h.JoinAsync(cx); } catch (OperationCanceledException) { }
            }
        });
        Assert.True(outcome.IsCancelled || outcome.IsOk, outcome.ToString());
        Assert.Equal(8, inside.OpenObligations);
        Assert.Equal(9, inside.LiveTasks); // the root and the eight workers
        Assert.Equal(4, inside.TasksWithDeadline);
        Assert.Same(PotentialWeights.ObligationFocused, inside.Weights);
        Assert.Equal(recount.LiveTasks, inside.LiveTasks);
        Assert.Equal(recount.OpenObligations, inside.OpenObligations);
        var after = rt.Potential;
        Assert.Equal(0, after.LiveTasks);
        Assert.Equal(0, after.OpenObligations);
        Assert.Equal(TimeSpan.Zero, after.ObligationAge);
        Assert.Equal(0, after.DrainingRegions);
        Assert.Equal(0, after.TasksWithDeadline);
        Assert.Equal(0, after.Value);
    }

    [Fact]
    public async Task Potential_IsPublished_AsAnObservableGauge()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 1, PrintDiagnostics = false });
        var seen = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == AsupersyncTelemetry.MeterName && i.Name == AsupersyncTelemetry.Instruments.Potential) l.EnableMeasurementEvents(i);
        };
        listener.SetMeasurementEventCallback<double>((_, v, _, _) => { lock (seen) seen.Add(v); });
        listener.Start();
        await rt.RunAsync(async cx =>
        {
            var o = cx.Reserve(ObligationKind.SendPermit, "held");
            listener.RecordObservableInstruments();
            o.Commit();
            await cx.YieldAsync();
        });
        lock (seen)
        {
            Assert.NotEmpty(seen);
            // Other tests' runtimes may be live at the same time: the gauge sums over them, so only its sign is pinned.
            Assert.True(seen[0] >= 1, $"gauge read {seen[0]}");
        }
    }
}
