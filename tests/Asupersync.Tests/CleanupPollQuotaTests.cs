using Asupersync.Lab;

namespace Asupersync.Tests;

/// <summary>
/// A cleanup poll quota is enforced on every resumption, not only at runtime checkpoints: a task cancelled with a
/// poll budget of 5 that then resumes 300 times without a checkpoint is reported (task and region named) once
/// the quota passes, whichever way it resumes — as the time budget is.
/// </summary>
public class CleanupPollQuotaTests
{
    private const int Resumptions = 300;

    /// <summary>How the spinner resumes without a runtime checkpoint.</summary>
    public enum Resume
    {
        /// <summary><c>await Task.Yield()</c>: posted to the task's SynchronizationContext.</summary>
        TaskYield,

        /// <summary>Awaiting plain tasks completed by another task (posted back through the context).</summary>
        PlainTask,
    }

    private static async Task Spinner(Resume how, Task gate, Func<int, Task> plain, int[] resumed)
    {
        await gate; // a plain await: no runtime wait to interrupt, so the cancel is never raised
        for (int i = 0; i < Resumptions; i++)
        {
            if (how == Resume.TaskYield) await Task.Yield();
            else await plain(i);
            resumed[0]++;
        }
    }

    /// <summary>The root cancels "spinner" (in region "work") with a poll quota of 5, then lets it resume 300 times.</summary>
    /// <remarks>Plain tasks: in production each is a <c>Task.Delay(1)</c> (completed on a timer thread); in the Lab
    /// (one thread) a ping-pong with the region body, which completes step i only once the spinner awaits it.</remarks>
    private static async Task Program(Cx cx, Resume how, int[] resumed, bool lab)
    {
        var gate = new TaskCompletionSource();
        var steps = new TaskCompletionSource[Resumptions];
        for (int i = 0; i < steps.Length; i++) steps[i] = new TaskCompletionSource();
        int waitingOn = -1;
        Func<int, Task> plain = lab ? i => { waitingOn = i; return steps[i].Task; } : _ => Task.Delay(1);
        await cx.RegionAsync("work", async cx =>
        {
            var h = cx.Spawn("spinner", _ => Spinner(how, gate.Task, plain, resumed));
            await cx.WaitStartedAsync(h);
            h.Cancel(Budget.Polls(5));
            gate.SetResult();
            if (how == Resume.PlainTask && lab)
            {
                for (int i = 0; i < steps.Length; i++)
                {
                    while (waitingOn != i) await cx.YieldAsync();
                    steps[i].SetResult();
                }
            }
            await h.JoinAsync(cx);
        });
    }

    [Theory]
    [InlineData(Resume.TaskYield)]
    [InlineData(Resume.PlainTask)]
    public async Task Production_ResumingPastThePollQuotaWithoutACheckpoint_IsReported(Resume how)
    {
        var resumed = new int[1];
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        var o = await rt.RunAsync(cx => Program(cx, how, resumed, lab: false)).WaitAsync(TestRuntime.HangGuard);
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(Resumptions, resumed[0]); // code that never checkpoints cannot be stopped: it is reported instead
        var d = Assert.Single(rt.Diagnostics.Recent, e => e.Kind == DiagnosticKind.BudgetOverrun);
        Assert.Equal("spinner", d.TaskName);
        Assert.Equal("work", d.RegionName);
        Assert.Contains("task 'spinner' in region 'work'", d.Message);
        Assert.Contains("poll quota", d.Message);
    }

    [Theory]
    [InlineData(Resume.TaskYield)]
    [InlineData(Resume.PlainTask)]
    public void Lab_ResumingPastThePollQuotaWithoutACheckpoint_IsReported(Resume how)
    {
        for (ulong seed = 0; seed < 10; seed++)
        {
            var resumed = new int[1];
            RuntimeDiagnostics? diag = null;
            var r = LabRuntime.Run(seed, cx => Program(cx, how, resumed, lab: true), LabOptions.Default with { ConfigureRuntime = rt => diag = rt.Diagnostics });
            Assert.Equal(Resumptions, resumed[0]);
            var f = Assert.Single(r.OracleFailures);
            Assert.Equal(LabOracles.BudgetOverrun, f.Oracle);
            Assert.Contains("'spinner'", f.Message);
            Assert.Contains("'work'", f.Message);
            var d = Assert.Single(diag!.Recent, e => e.Kind == DiagnosticKind.BudgetOverrun);
            Assert.Equal("spinner", d.TaskName);
            // Reported when the quota passed (the 6th resumption after the cancel), not at the end.
            Assert.Contains("resumed", d.Message);
        }
    }

    [Fact]
    public void Lab_PollQuotaSpentWhileDraining_RaisesOnceMore_AndIsReportedOnce()
    {
        var log = new List<string>();
        RuntimeDiagnostics? diag = null;
        var r = LabRuntime.Run(2, async cx =>
        {
            var h = cx.Spawn("drainer", async cx =>
            {
                try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                catch (CancelledException)
                {
                    // Draining: plain resumptions use up the quota, then the next checkpoint raises once more.
                    for (int i = 0; i < 20; i++) await Task.Yield();
                    try { await cx.SleepAsync(TimeSpan.FromMilliseconds(1)); log.Add("slept"); }
                    catch (CancelledException e) { log.Add(e.Reason.Message!); }
                    throw;
                }
            });
            await cx.WaitStartedAsync(h);
            h.Cancel(Budget.Polls(5));
            await h.JoinAsync(cx);
        }, LabOptions.Default with { ConfigureRuntime = rt => diag = rt.Diagnostics });
        Assert.Equal(["cleanup budget exhausted"], log);
        var d = Assert.Single(diag!.Recent, e => e.Kind == DiagnosticKind.BudgetOverrun);
        Assert.Equal("drainer", d.TaskName);
        Assert.Contains("poll quota ran out while draining", d.Message);
        Assert.Single(r.OracleFailures, f => f.Oracle == LabOracles.BudgetOverrun);
    }
}
