using Asupersync.Channels;
using Asupersync.Lab;
using Asupersync.Sync;

namespace Asupersync.Tests;

/// <summary>
/// A Cx is usable only by its own task while it lives: every effect called from another task, from code outside
/// any task step, or after the task completed throws <see cref="InvalidOperationException"/> naming both sides —
/// in production and in the Lab. Identity and state reads stay allowed; the task's own narrowed Cx, a finalizer's
/// Cx and combinator branches keep working.
/// </summary>
public class CxOwnershipTests
{
    /// <summary>Every Cx effect, and library operations that act through a Cx, as (name, call) pairs.</summary>
    private static IEnumerable<(string Name, Func<Cx, Task> Call)> Effects()
    {
        var (tx, rx) = Mpsc.Bounded<int>(4);
        var mutex = new AsyncMutex();
        var sem = new AsyncSemaphore(1);
        yield return ("SleepAsync", async c => await c.SleepAsync(TimeSpan.FromMilliseconds(1)));
        yield return ("SleepAsync(0)", async c => await c.SleepAsync(TimeSpan.Zero));
        yield return ("SleepUntilAsync", async c => await c.SleepUntilAsync(TimeSpan.Zero));
        yield return ("YieldAsync", async c => await c.YieldAsync());
        yield return ("Checkpoint", c => { c.Checkpoint(); return Task.CompletedTask; });
        yield return ("Spawn", c => { c.Spawn("x", _ => Task.CompletedTask); return Task.CompletedTask; });
        yield return ("RegionAsync", c => c.RegionAsync("x", _ => Task.CompletedTask));
        yield return ("Defer", c => { c.Defer(() => { }); return Task.CompletedTask; });
        yield return ("CancelRegion", c => { c.CancelRegion("x"); return Task.CompletedTask; });
        yield return ("NextRandom", c => { c.NextRandom(); return Task.CompletedTask; });
        yield return ("Now", c => { _ = c.Now; return Task.CompletedTask; });
        yield return ("UtcNow", c => { _ = c.UtcNow; return Task.CompletedTask; });
        yield return ("Charge", c => { c.Charge(1); return Task.CompletedTask; });
        yield return ("Reserve", c => { c.Reserve(ObligationKind.Lease, "x"); return Task.CompletedTask; });
        yield return ("Mask", c => { c.Mask().Dispose(); return Task.CompletedTask; });
        yield return ("AcknowledgeCancel", c => { c.AcknowledgeCancel(); return Task.CompletedTask; });
        yield return ("CancellationToken", c => { _ = c.CancellationToken; return Task.CompletedTask; });
        yield return ("AwaitAsync", async c => await c.AwaitAsync(Task.CompletedTask));
        yield return ("ShutdownSignalAsync", async c => await c.ShutdownSignalAsync());
        yield return ("TimeoutAsync", c => c.TimeoutAsync(TimeSpan.FromSeconds(1), _ => Task.FromResult(1)));
        yield return ("channel ReceiveAsync", async c => await rx.ReceiveAsync(c));
        yield return ("channel SendAsync", async c => await tx.SendAsync(c, 1));
        yield return ("channel TryReserve", c => { tx.TryReserve(c, out _); return Task.CompletedTask; });
        yield return ("mutex LockAsync", async c => (await mutex.LockAsync(c)).Dispose());
        yield return ("semaphore TryAcquire", c => { sem.TryAcquire(c, out _); return Task.CompletedTask; });
    }

    private static async Task<InvalidOperationException?> TryAsync(Func<Cx, Task> call, Cx cx)
    {
        try
        {
            await call(cx);
            return null;
        }
        catch (InvalidOperationException e) when (e.GetType() == typeof(InvalidOperationException))
        {
            return e;
        }
    }

    [Fact]
    public async Task EveryEffect_OnACompletedTasksCx_ThrowsNamingBothTasks()
    {
        var failures = new List<string>();
        var o = await TestRuntime.RunAsync(async cx =>
        {
            foreach (var (name, call) in Effects())
            {
                Cx? leaked = null;
                var h = cx.Spawn("short-lived", cx => { leaked = cx; return Task.CompletedTask; });
                await h.JoinAsync(cx);
                var e = await TryAsync(call, leaked!);
                if (e is null) failures.Add($"{name}: no error");
                else if (!e.Message.Contains("'short-lived'", StringComparison.Ordinal) || !e.Message.Contains("'root'", StringComparison.Ordinal) || !e.Message.Contains("completed", StringComparison.Ordinal))
                    failures.Add($"{name}: {e.Message}");
            }
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Empty(failures);
    }

    [Fact]
    public async Task EveryEffect_OnALiveSiblingsCx_Throws_AndLeavesTheSiblingIntact()
    {
        var failures = new List<string>();
        var o = await TestRuntime.RunAsync(async cx =>
        {
            foreach (var (name, call) in Effects())
            {
                var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Cx? other = null;
                var h = cx.Spawn("owner-task", async cx =>
                {
                    other = cx;
                    await cx.AwaitAsync(gate.Task);
                    await cx.SleepAsync(TimeSpan.Zero); // its own Cx still works
                    return 7;
                });
                while (other is null) await cx.YieldAsync();
                var e = await TryAsync(call, other);
                if (e is null) failures.Add($"{name}: no error");
                else if (!e.Message.Contains("'owner-task'", StringComparison.Ordinal) || !e.Message.Contains("'root'", StringComparison.Ordinal))
                    failures.Add($"{name}: {e.Message}");
                gate.SetResult();
                var ho = await h.JoinAsync(cx);
                if (!ho.IsOk || ho.Value != 7) failures.Add($"{name}: the owner ended {ho}");
            }
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Empty(failures);
    }

    [Fact]
    public async Task Cx_UsedOutsideAnyTaskStep_Throws()
    {
        // Decision (documented on Cx): code outside any task step — a thread-pool continuation after
        // ConfigureAwait(false), Task.Run — is not the task, even while the task lives.
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var fromPool = await Task.Run(() => TryAsync(c => { c.NextRandom(); return Task.CompletedTask; }, cx));
            await Task.Delay(1).ConfigureAwait(false);
            var afterConfigureAwait = await TryAsync(async c => await c.SleepAsync(TimeSpan.FromMilliseconds(1)), cx);
            return (fromPool?.Message, afterConfigureAwait?.Message);
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Contains("outside any task step", o.Value.Item1);
        Assert.Contains("'root'", o.Value.Item1);
        Assert.Contains("outside any task step", o.Value.Item2);
    }

    [Fact]
    public async Task LegitimateUses_KeepWorking()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            // The task's own narrowed Cx.
            var narrow = cx.Narrow(Capabilities.Time);
            await narrow.SleepAsync(TimeSpan.FromMilliseconds(1));
            narrow.Checkpoint();
            // A finalizer gets its own Cx; combinator branches and region bodies get theirs.
            int finalized = 0;
            await cx.RegionAsync("r", cx =>
            {
                cx.Defer(async fcx => { await fcx.SleepAsync(TimeSpan.FromMilliseconds(1)); finalized++; });
                return Task.CompletedTask;
            });
            var race = await cx.RaceAsync(async c => { await c.SleepAsync(TimeSpan.FromMilliseconds(1)); return 1; }, async c => { await c.SleepAsync(TimeSpan.FromSeconds(5)); return 2; });
            // Identity and state reads of another (even completed) task's Cx are not effects.
            Cx? done = null;
            await cx.Spawn("done", c => { done = c; return Task.CompletedTask; }).JoinAsync(cx);
            var reads = (done!.TaskName, done.State, done.IsCancelRequested, done.RegionName, done.ToString().Length > 0);
            return (finalized, race.Value, reads.TaskName, reads.State);
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal((1, 1, "done", TaskState.Completed), o.Value);
    }

    [Fact]
    public void Lab_MisuseThrows_AndIsReportedEvenWhenCaught()
    {
        for (ulong seed = 0; seed < 10; seed++)
        {
            string? message = null;
            var r = LabRuntime.Run(seed, async cx =>
            {
                Cx? leaked = null;
                await cx.Spawn("short-lived", cx => { leaked = cx; return Task.CompletedTask; }).JoinAsync(cx);
                try { await leaked!.SleepAsync(TimeSpan.FromSeconds(1)); }
                catch (InvalidOperationException e) { message = e.Message; }
            });
            Assert.NotNull(message);
            Assert.Contains("'short-lived'", message);
            var f = Assert.Single(r.OracleFailures);
            Assert.Equal("CxMisuse", f.Oracle);
            Assert.Contains("'short-lived'", f.Message);
        }
    }

    [Fact]
    public void Lab_LateContinuationOfACompletedTask_CannotUseItsCx()
    {
        // An async helper the body started but did not await keeps running as continuations of the task after
        // the body returned; once the task completed, its Cx refuses.
        string? message = null;
        var r = LabRuntime.Run(1, async cx =>
        {
            var gate = new TaskCompletionSource();
            var h = cx.Spawn("forgetful", cx =>
            {
                _ = Helper(cx, gate.Task);
                return Task.CompletedTask;
            });
            await h.JoinAsync(cx);
            gate.SetResult(); // resumes the helper as a (late) step of the completed task
            await cx.YieldAsync();
            await cx.YieldAsync();
        });
        Assert.NotNull(message);
        Assert.Contains("late continuation", message);
        Assert.Contains(r.OracleFailures, f => f.Oracle == "CxMisuse");

        async Task Helper(Cx cx, Task gate)
        {
            await gate;
            try { await cx.SleepAsync(TimeSpan.FromSeconds(1)); }
            catch (InvalidOperationException e) { message = e.Message; }
        }
    }
}
