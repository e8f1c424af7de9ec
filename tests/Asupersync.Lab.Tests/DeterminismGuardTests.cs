using Asupersync.Lab;

namespace Asupersync.Lab.Tests;

public class DeterminismGuardTests
{
    // Generous: the grace is waited only until the foreign continuation arrives (about 200 ms here), so a loaded machine
    // cannot push the continuation past it and turn the report into the "suspended outside the Lab" one.
    private static readonly LabOptions Fast = new() { ForeignContinuationGrace = TimeSpan.FromSeconds(30) };

    [Fact]
    public void TaskDelay_IsReported_WithTaskName()
    {
        var r = LabRuntime.Run(1, async cx =>
        {
            var t = cx.Spawn("sleepy-worker", async cx => await Task.Delay(200));
            await t.JoinAsync(cx);
        }, Fast);
        Assert.True(r.OracleFailures.Count(f => f.Oracle == LabOracles.Determinism) == 1, r.Describe());
        var f = r.OracleFailures.First(f => f.Oracle == LabOracles.Determinism);
        Assert.True(f.Message.Contains("'sleepy-worker'"), r.Describe());
        Assert.Contains("not the Lab thread", f.Message);
        Assert.Null(r.Outcome);
    }

    [Fact]
    public void TaskRun_IsReported_WithTaskName()
    {
        var r = LabRuntime.Run(1, async cx =>
        {
            var t = cx.Spawn("offloader", async cx => await Task.Run(() => { Thread.Sleep(100); return 42; }));
            await t.JoinAsync(cx);
        }, Fast);
        var f = Assert.Single(r.OracleFailures, f => f.Oracle == LabOracles.Determinism);
        Assert.Contains("'offloader'", f.Message);
    }

    [Fact]
    public void ConfigureAwaitFalse_LeavingTheLab_IsReported()
    {
        var r = LabRuntime.Run(1, async cx =>
        {
            var t = cx.Spawn("escaper", async cx =>
            {
                await Task.Yield();                       // fine: posts back to the task's context
                await Task.Delay(200).ConfigureAwait(false); // resumes on a pool thread
                await cx.YieldAsync();                    // a runtime call from outside the Lab
            });
            await t.JoinAsync(cx);
        }, Fast);
        Assert.Contains(r.OracleFailures, f => f.Oracle == LabOracles.Determinism && f.Message.Contains("'escaper'"));
    }

    [Fact]
    public void PlainTaskCompletedInsideLab_IsNotAFalseAlarm()
    {
        // A TaskCompletionSource completed by another Lab task resumes through the waiter's context: deterministic.
        var r = LabRuntime.Run(1, async cx =>
        {
            var tcs = new TaskCompletionSource<int>();
            var waiter = cx.Spawn("waiter", async cx => await cx.AwaitAsync(tcs.Task));
            var setter = cx.Spawn("setter", async cx => { await cx.YieldAsync(); tcs.SetResult(1); });
            await waiter.JoinAsync(cx);
            await setter.JoinAsync(cx);
        });
        Assert.True(r.Passed, r.Describe());
    }

    [Fact]
    public void TaskYield_StaysInTheLab()
    {
        var r = LabRuntime.Run(1, async cx =>
        {
            for (int i = 0; i < 5; i++) await Task.Yield();
        });
        Assert.True(r.Passed, r.Describe());
    }
}
