using Asupersync.Scheduling;

namespace Asupersync.Tests;

/// <summary>
/// A root run started from outside the runtime may run its body's first step on the calling thread (borrowing a
/// parked worker's slot): the worker count still bounds how many threads run steps, and the body sees a worker's
/// context, not the caller's.
/// </summary>
public class RootOnCallerTests
{
    private static readonly AsyncLocal<string?> s_local = new();

    /// <summary>Waits (bounded: a hang guard, not a timing assertion) until a worker parked, so the next root run can start on the caller.</summary>
    private static void WaitParked(Runtime rt)
    {
        var sched = (ThreeLaneScheduler)rt.Core.Driver;
        Assert.True(SpinWait.SpinUntil(() => sched.HasLendableSlot, TestRuntime.HangGuard), "no worker parked");
    }

    [Fact]
    public async Task RootOnCaller_SynchronousBody_RunsOnTheCallingThread_AndIsComplete()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 1 });
        WaitParked(rt);
        int caller = Environment.CurrentManagedThreadId;
        int ran = -1;
        var run = rt.RunAsync(cx =>
        {
            ran = Environment.CurrentManagedThreadId;
            return Task.FromResult(7);
        });
        // Inline and synchronous: the root closed before RunAsync returned.
        Assert.True(run.IsCompleted);
        var o = await run;
        Assert.Equal(7, o.Value);
        Assert.Equal(caller, ran);
    }

    [Fact]
    public async Task RootOnCaller_CallersAsyncLocals_DoNotFlowIn_AndTheBodysDoNotLeakOut()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        for (int round = 0; round < 2; round++) // once on the caller (workers parked), once wherever the runtime puts it
        {
            if (round == 0) WaitParked(rt);
            s_local.Value = "caller";
            string? seen = "unset";
            var o = await rt.RunAsync(cx =>
            {
                seen = s_local.Value;
                s_local.Value = "body"; // a synchronous body: a leak would show in the caller
                return Task.CompletedTask;
            });
            Assert.True(o.IsOk);
            Assert.Null(seen);
            Assert.Equal("caller", s_local.Value);
        }
    }

    [Fact]
    public async Task RootOnCaller_OneWorker_ASpawnedChildDoesNotRunDuringTheRootsFirstStep()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 1 });
        for (int round = 0; round < 5; round++)
        {
            WaitParked(rt);
            int childRan = 0;
            bool ranDuringFirstStep = false;
            var o = await rt.RunAsync(async cx =>
            {
                var h = cx.Spawn("child", cx => { Volatile.Write(ref childRan, 1); return Task.CompletedTask; });
                // The only worker was woken for the child, but its slot is this step's: the child waits for the step.
                for (int i = 0; i < 2000; i++)
                {
                    if (Volatile.Read(ref childRan) != 0) ranDuringFirstStep = true;
                    Thread.SpinWait(50);
                }
                await h.JoinAsync(cx);
            }).WaitAsync(TestRuntime.HangGuard);
            Assert.True(o.IsOk, o.ToString());
            Assert.Equal(1, childRan);
            Assert.False(ranDuringFirstStep);
        }
    }
}
