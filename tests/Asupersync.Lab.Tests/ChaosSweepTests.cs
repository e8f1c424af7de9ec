using Asupersync.Lab;
using Asupersync.Lab.Chaos;
namespace Asupersync.Lab.Tests;
/// <summary>A cancel-safe program using regions, finalizers, obligations, AsyncMutex, AsyncSemaphore and budgets stays clean under heavy chaos.</summary>
public class ChaosSweepTests
{
    private static async Task Rich(Cx cx)
    {
        var m = new Asupersync.Sync.AsyncMutex();
        var sem = new Asupersync.Sync.AsyncSemaphore(2);
        await cx.RegionAsync("outer", async cx =>
        {
            cx.Defer(() => { });
            cx.Defer(async cx => await cx.YieldAsync());
            var hs = new List<TaskHandle<Unit>>();
            for (int i = 0; i < 4; i++)
            {
                hs.Add(cx.Spawn($"w{i}", async cx =>
                {
                    using var ob = cx.Reserve(ObligationKind.Custom, "work");
                    using (await m.LockAsync(cx)) await cx.YieldAsync();
                    using (await sem.AcquireAsync(cx)) await cx.SleepAsync(TimeSpan.FromMilliseconds(3));
                    try { await cx.SleepAsync(TimeSpan.FromMilliseconds(2)); }
                    finally { await cx.YieldAsync(); }
                    ob.Commit();
                }, Budget.Timeout(TimeSpan.FromMilliseconds(50))));
            }
            await cx.RegionAsync("inner", async cx =>
            {
                _ = cx.Spawn("timed", async cx => await cx.SleepAsync(TimeSpan.FromSeconds(1)), Budget.Timeout(TimeSpan.FromMilliseconds(5)));
                await cx.YieldAsync();
            });
            foreach (var h in hs) await h.JoinAsync(cx);
        });
    }

    [Fact]
    public void CancelSafeProgram_IsClean_UnderHeavyChaos_AcrossSeeds()
    {
        int chaosCancels = 0, cancelledTasks = 0;
        for (ulong s = 0; s < 150; s++)
        {
            var r = LabRuntime.Run(s, Rich, new LabOptions { Chaos = ChaosOptions.Heavy });
            Assert.True(r.OracleFailures.Count == 0, r.Describe());
            Assert.NotNull(r.Outcome);
            chaosCancels += r.Trace.Events.Count(e => e.Kind == LabEventKind.ChaosCancel);
            cancelledTasks += r.Trace.Events.Count(e => e.Kind == LabEventKind.Completed && e.Code == (int)OutcomeKind.Cancelled);
        }
        Assert.True(chaosCancels > 20 && cancelledTasks > 20, $"chaos cancels {chaosCancels}, cancelled tasks {cancelledTasks}");
    }
}
