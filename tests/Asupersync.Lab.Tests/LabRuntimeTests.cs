using Asupersync.Lab;

namespace Asupersync.Lab.Tests;

public class LabRuntimeTests
{
    private static Func<Cx, Task> ThreeWorkers(List<string>? log = null) => async cx =>
    {
        var handles = new List<TaskHandle<Unit>>();
        for (int w = 0; w < 3; w++)
        {
            int id = w;
            handles.Add(cx.Spawn($"w{id}", async cx =>
            {
                for (int i = 0; i < 3; i++)
                {
                    log?.Add($"w{id}.{i}");
                    await cx.YieldAsync();
                }
            }));
        }
        foreach (var h in handles) await h.JoinAsync(cx);
    };

    [Fact]
    public void Run_CompletesProgram_WithOkOutcome()
    {
        var log = new List<string>();
        var r = LabRuntime.Run(1, ThreeWorkers(log));
        Assert.True(r.Passed, r.Describe());
        Assert.True(r.Outcome!.Value.IsOk);
        Assert.Equal(9, log.Count);
        Assert.True(r.Steps > 9);
    }

    [Fact]
    public void VirtualTime_JumpsToTimers_WithoutWaiting()
    {
        TimeSpan seen = default;
        var r = LabRuntime.Run(3, async cx =>
        {
            await cx.SleepAsync(TimeSpan.FromHours(5));
            seen = cx.Now;
        });
        Assert.True(r.Passed, r.Describe());
        Assert.Equal(TimeSpan.FromHours(5), seen);
        Assert.Equal(TimeSpan.FromHours(5), r.VirtualTime);
    }
}
