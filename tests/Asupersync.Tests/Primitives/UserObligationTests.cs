using Asupersync.Lab;
using Asupersync.Lab.Exploration;
using Asupersync.Tests.Sync;

namespace Asupersync.Tests.Primitives;

/// <summary>
/// Public user obligations with effects, and the worked example of the design brief: a counter that a cancel
/// between "reserve" and "commit" leaves unbalanced (found by exploration), made safe by an obligation.
/// </summary>
public class UserObligationTests
{
    private static readonly ExploreOptions Bounded = new() { MaxSchedules = 300, MaxWallTime = TimeSpan.FromSeconds(8), StopOnFirstFailure = true };

    /// <summary>A seat table: every seat is either available or confirmed — never lost in between.</summary>
    private sealed class Seats
    {
        public int Available = 2;
        public int Confirmed;
        public bool Balanced => Available + Confirmed == 2;
    }

    /// <summary>Two bookings, one of them cancelled at some point; the plain version takes a seat, awaits, confirms.</summary>
    private static Func<Cx, Task> Bookings(bool withObligation) => async cx =>
    {
        var seats = new Seats();
        async Task Book(Cx cx)
        {
            if (seats.Available == 0) return;
            seats.Available--;
            if (withObligation)
            {
                using var hold = cx.Reserve(ObligationKind.Custom, "seat", onCommit: () => seats.Confirmed++, onAbort: _ => seats.Available++);
                await cx.YieldAsync(); // the payment call: a cancel may land here
                hold.Commit();
            }
            else
            {
                await cx.YieldAsync(); // the payment call: a cancel here leaves the seat taken and never confirmed
                seats.Confirmed++;
            }
        }
        var a = cx.Spawn("a", Book);
        var b = cx.Spawn("b", Book);
        await cx.YieldAsync();
        b.Cancel();
        await a.JoinAsync(cx);
        await b.JoinAsync(cx);
        Assert.True(seats.Balanced, $"available {seats.Available}, confirmed {seats.Confirmed}");
    };

    [Fact]
    public void PlainCounter_IsLeftUnbalancedByACancel_ExplorationFindsIt()
    {
        var e = Assert.Throws<LabFailureException>(() => LabTest.Explore(Bookings(withObligation: false), Bounded));
        Assert.Contains("available 0, confirmed 1", e.Message); // b took the second seat, was cancelled, never confirmed
    }

    [Fact]
    public void CounterMadeAnObligation_StaysBalanced_Explored() => LabTest.Explore(Bookings(withObligation: true), Bounded);

    [Fact]
    public void CounterMadeAnObligation_StaysBalanced_Seeds() => LabTest.ForSeeds(200, Bookings(withObligation: true));

    [Fact]
    public void ExactlyOneHookRuns_Once_ForEveryEnding() => LabTest.ForSeeds(10, async cx =>
    {
        var log = new List<string>();
        Obligation Make(Cx cx, string name) => cx.Reserve(ObligationKind.Custom, name, onCommit: () => log.Add(name + ":commit"), onAbort: r => log.Add(name + ":abort:" + r.Kind));
        var committed = Make(cx, "c");
        committed.Commit();
        committed.Dispose(); // no second hook
        var aborted = Make(cx, "a");
        aborted.Abort("changed my mind");
        using (Make(cx, "d")) { } // disposal aborts
        // The holder is cancelled with the obligation reserved: the runtime aborts it with the holder's reason.
        var holder = cx.Spawn("holder", async cx =>
        {
            Make(cx, "h");
            await Rt.Forever(cx);
        });
        await cx.WaitStartedAsync(holder);
        holder.Cancel();
        await holder.JoinAsync(cx);
        // The holder panics with it reserved (in a child region, so that the panic does not fail the root).
        var panicked = await cx.RegionAsync("panicker", cx =>
        {
            Make(cx, "p");
            throw new InvalidOperationException("boom");
        });
        Assert.True(panicked.IsPanicked);
        Assert.Equal(["c:commit", "a:abort:User", "d:abort:User", "h:abort:User", "p:abort:ResourceUnavailable"], log);
    }, new LabOptions { Runtime = new RuntimeOptions { PrintDiagnostics = false } });

    [Fact]
    public async Task LeakedObligation_RunsTheAbortHook_AndIsReported()
    {
        string? aborted = null;
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var o = await rt.RunAsync(async cx =>
        {
            // In a child region: the leak fails the leaker's region, not the root.
            return await cx.RegionAsync("leaker", cx =>
            {
                cx.Reserve(ObligationKind.Custom, "row lock 7", onCommit: null, onAbort: r => aborted = r.Message);
                return Task.CompletedTask; // ends Ok holding it
            });
        }).WaitAsync(Rt.HangGuard);
        Assert.True(o.Value.IsErr); // default leak response: Fail
        Assert.IsType<ObligationLeakedException>(o.Value.Error);
        Assert.Contains("leaked", aborted);
        Assert.Equal(1, rt.Diagnostics.ObligationsLeaked);
    }

    [Fact]
    public async Task ThrowingHook_IsReported_AndNeverEscapes()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var o = await rt.RunAsync(async cx =>
        {
            var ob = cx.Reserve(ObligationKind.Custom, "flaky", onCommit: () => throw new InvalidOperationException("hook bug"), onAbort: null);
            ob.Commit(); // does not throw
            Assert.Equal(ObligationState.Committed, ob.State);
            var holder = cx.Spawn("holder", async cx =>
            {
                cx.Reserve(ObligationKind.Custom, "flaky abort", onCommit: null, onAbort: _ => throw new InvalidOperationException("abort hook bug"));
                await Rt.Forever(cx);
            });
            await cx.WaitStartedAsync(holder);
            holder.Cancel();
            return (await holder.JoinAsync(cx)).Kind;
        }).WaitAsync(Rt.HangGuard);
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(OutcomeKind.Cancelled, o.Value); // the runtime's abort was not disturbed by the hook
        var failures = rt.Diagnostics.Recent.Where(d => d.Kind == DiagnosticKind.ObligationHookFailed).ToList();
        Assert.Equal(2, failures.Count);
        Assert.Contains("hook bug", failures[0].Message);
    }

    [Fact]
    public async Task OnlyTheHolderResolves_AndBadArgumentsAreRejected()
    {
        var o = await Rt.Run(async cx =>
        {
            Assert.Throws<ArgumentNullException>(() => cx.Reserve(ObligationKind.Custom, null!, null, null));
            Assert.Throws<ArgumentOutOfRangeException>(() => cx.Reserve((ObligationKind)99, "x", null, null));
            int commits = 0;
            var ob = cx.Reserve(ObligationKind.Custom, "mine", () => commits++, null);
            var thief = cx.Spawn("thief", cx =>
            {
                Assert.Throws<InvalidOperationException>(ob.Commit);
                return Task.CompletedTask;
            });
            Assert.True((await thief.JoinAsync(cx)).IsOk);
            ob.Commit();
            Assert.Equal(1, commits);
        });
        Assert.True(o.IsOk, o.ToString());
    }
}
