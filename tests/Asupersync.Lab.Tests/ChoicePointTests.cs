using Asupersync.Lab;
using Asupersync.Lab.Exploration;
using Asupersync.LabBench;
using Asupersync.Channels;
using Asupersync.Sync;

namespace Asupersync.Lab.Tests;

/// <summary>
/// Choice points at every synchronization operation, whether or not it suspends: the Lab must be able to run
/// another task between "release lock 1" and "take lock 2" even when both are uncontended, as production does.
/// </summary>
public class ChoicePointTests
{
    private static ExploreResult Explore(Func<Cx, Task> program, ExploreStrategy strategy, LabOptions? lab = null, int maxSchedules = 2_000) =>
        LabRuntime.Explore(program, new ExploreOptions
        {
            Strategy = strategy,
            MaxSchedules = maxSchedules,
            StopOnFirstFailure = true,
            MaxWallTime = TimeSpan.FromMinutes(2),
            Lab = lab ?? LabOptions.Default,
        });

    [Fact]
    public void TwoStage_UncontendedLocks_IsFoundByDpor()
    {
        var r = Explore(SeededBugs.TwoStage(false), ExploreStrategy.Dpor);
        Assert.NotNull(r.FirstFailure);
        Assert.Contains("stage 1 is set but stage 2 is not", r.FirstFailure!.Describe());
        Assert.True(r.Schedules <= 50, r.Describe());
    }

    [Theory]
    [InlineData(ExploreStrategy.Random)]
    [InlineData(ExploreStrategy.Pct)]
    [InlineData(ExploreStrategy.Exhaustive)]
    public void TwoStage_UncontendedLocks_IsFoundByEveryStrategy(ExploreStrategy strategy)
    {
        var r = Explore(SeededBugs.TwoStage(false), strategy);
        Assert.NotNull(r.FirstFailure);
    }

    [Fact]
    public void TwoStage_Fixed_IsExhaustedClean()
    {
        var r = Explore(SeededBugs.TwoStage(true), ExploreStrategy.Dpor);
        Assert.Null(r.FirstFailure);
        Assert.True(r.Exhausted, r.Describe());
    }

    [Fact]
    public void WithoutChoicePoints_TwoStageLooksClean_TheHoleTheyClose()
    {
        // The verdict the Lab used to give: an uncontended lock completes synchronously and the release never
        // yields, so "release lock 1; take lock 2" is one step and the bad order is invisible.
        var r = Explore(SeededBugs.TwoStage(false), ExploreStrategy.Dpor, LabOptions.Default with { ChoicePoints = false });
        Assert.Null(r.FirstFailure);
        Assert.True(r.Exhausted, r.Describe());
    }

    [Fact]
    public void AwaitUsingRelease_IsAChoicePoint_TryLockCanSeeTheLockHeld()
    {
        // With a synchronous release, a critical section without an await is atomic in the Lab and another task's
        // TryLock can never find the lock held. `await using` makes the release a choice point.
        Func<Cx, Task> program = async cx =>
        {
            var m = new AsyncMutex();
            bool sawHeld = false;
            var holder = cx.Spawn("holder", async cx =>
            {
                await using var g = await m.LockAsync(cx);
            });
            var prober = cx.Spawn("prober", async cx =>
            {
                await cx.YieldAsync();
                if (!m.TryLock(out var g)) sawHeld = true;
                g?.Dispose();
            });
            await holder.JoinAsync(cx);
            await prober.JoinAsync(cx);
            if (sawHeld) throw new InvalidOperationException("the prober found the lock held");
        };
        var r = Explore(program, ExploreStrategy.Dpor);
        Assert.NotNull(r.FirstFailure);
    }

    [Fact]
    public void ChannelSends_ThatDoNotWait_AreChoicePoints()
    {
        // One task sends twice into a roomy channel, another once: neither send suspends, yet production can
        // put the other task's item between the two, so the Lab must reach that order.
        Func<Cx, Task> program = async cx =>
        {
            var (tx, rx) = Mpsc.Bounded<int>(4);
            var a = cx.Spawn("a", async cx => { await tx.SendAsync(cx, 1); await tx.SendAsync(cx, 2); });
            var b = cx.Spawn("b", async cx => await tx.SendAsync(cx, 3));
            await a.JoinAsync(cx);
            await b.JoinAsync(cx);
            if (await rx.ReceiveAsync(cx) == 1 && await rx.ReceiveAsync(cx) == 3) throw new InvalidOperationException("an item landed between a's two sends");
        };
        Assert.NotNull(Explore(program, ExploreStrategy.Dpor).FirstFailure);
        Assert.Null(Explore(program, ExploreStrategy.Dpor, LabOptions.Default with { ChoicePoints = false }).FirstFailure);
    }

    [Fact]
    public void TaskCompletion_IsAChoicePoint_ACancelCanLandAfterTheBodysLastWrite()
    {
        // Found by the differential soundness check: production can run a cancel between a body's last operation
        // and the task's completion, which then settles the outcome as Cancelled although the write happened. The
        // Lab completed the task in the body's last step, so that state was unreachable.
        Func<Cx, Task> program = async cx =>
        {
            int x = 0;
            var target = cx.Spawn("target", async cx => { await cx.YieldAsync(); x = 1; });
            var canceller = cx.Spawn("canceller", async cx => { await cx.YieldAsync(); target.Cancel(); });
            var o = await target.JoinAsync(cx);
            await canceller.JoinAsync(cx);
            if (o.IsCancelled && x == 1) throw new InvalidOperationException("cancelled after its last write");
        };
        Assert.NotNull(Explore(program, ExploreStrategy.Dpor).FirstFailure);
        Assert.Null(Explore(program, ExploreStrategy.Dpor, LabOptions.Default with { ChoicePoints = false }).FirstFailure);
    }
    [Fact]
    public void JoinSetTakes_ThatDoNotWait_AreChoicePoints()
    {
        // Two completions are ready; consumer a takes twice, consumer b once. No take suspends, yet production
        // can run b's take between a's two, so the Lab must reach the order a, b.
        Func<Cx, Task> program = async cx =>
        {
            var set = new JoinSet<int>(cx);
            var w1 = set.Spawn("w1", _ => Task.FromResult(1));
            var w2 = set.Spawn("w2", _ => Task.FromResult(2));
            await w1.JoinAsync(cx);
            await w2.JoinAsync(cx);
            var takes = new List<string>();
            var a = cx.Spawn("a", async cx =>
            {
                if (await set.NextCompletedAsync(cx) is not null) takes.Add("a");
                if (await set.NextCompletedAsync(cx) is not null) takes.Add("a");
            });
            var b = cx.Spawn("b", async cx =>
            {
                if (await set.NextCompletedAsync(cx) is not null) takes.Add("b");
            });
            await a.JoinAsync(cx);
            await b.JoinAsync(cx);
            await set.DisposeAsync();
            if (takes is ["a", "b"]) throw new InvalidOperationException("b took a completion between a's two takes");
        };
        Assert.NotNull(Explore(program, ExploreStrategy.Dpor).FirstFailure);
        var without = Explore(program, ExploreStrategy.Dpor, LabOptions.Default with { ChoicePoints = false });
        Assert.Null(without.FirstFailure);
        Assert.True(without.Exhausted, without.Describe());
    }

    [Fact]
    public void JoinSetTryNextCompleted_SeesBothOrdersOfACompletion()
    {
        // TryNextCompleted is synchronous (it runs in the step of the code before it), but the task completion it
        // races with is its own step: both "already there" and "not yet" are reached.
        Func<Cx, Task> program = async cx =>
        {
            var set = new JoinSet<int>(cx);
            _ = set.Spawn("w", async cx => { await cx.YieldAsync(); return 1; });
            await cx.YieldAsync();
            bool took = set.TryNextCompleted(out _);
            await set.DisposeAsync();
            if (took) throw new InvalidOperationException("the completion was already there");
        };
        Assert.NotNull(Explore(program, ExploreStrategy.Dpor).FirstFailure);
        var found = LabRuntime.Explore(program, new ExploreOptions { Strategy = ExploreStrategy.Dpor, MaxSchedules = 2_000, StopOnFirstFailure = false, Lab = LabOptions.Default });
        Assert.True(found.Exhausted, found.Describe());
        Assert.True(found.Failures.Count > 0 && found.Failures.Count < found.Schedules, found.Describe());
    }

    [Fact]
    public void SelectReceives_ThatDoNotWait_AreChoicePoints()
    {
        // Three items are buffered; a selects twice, b once. No select suspends, yet production can run b's
        // between a's two, so the Lab must reach the order a, b, a.
        Func<Cx, Task> program = async cx =>
        {
            var (tx1, rx1) = Mpsc.Bounded<int>(4);
            var (tx2, rx2) = Mpsc.Bounded<int>(4);
            Assert.True(tx1.TrySend(1) && tx2.TrySend(2) && tx2.TrySend(3));
            var takes = new List<string>();
            var a = cx.Spawn("a", async cx =>
            {
                _ = await Select.ReceiveAsync(cx, rx1, rx2);
                takes.Add("a");
                _ = await Select.ReceiveAsync(cx, rx1, rx2);
                takes.Add("a");
            });
            var b = cx.Spawn("b", async cx =>
            {
                _ = await Select.ReceiveAsync(cx, rx1, rx2);
                takes.Add("b");
            });
            await a.JoinAsync(cx);
            await b.JoinAsync(cx);
            if (takes is ["a", "b", "a"]) throw new InvalidOperationException("b took an item between a's two selects");
        };
        Assert.NotNull(Explore(program, ExploreStrategy.Dpor).FirstFailure);
        var without = Explore(program, ExploreStrategy.Dpor, LabOptions.Default with { ChoicePoints = false });
        Assert.Null(without.FirstFailure);
        Assert.True(without.Exhausted, without.Describe());
    }

    [Fact]
    public void IntervalTicks_ThatAreAlreadyDue_AreChoicePoints()
    {
        // Ticks 0, 1, 2 and 3 s are due (burst); a ticks twice, b once. No tick suspends, yet production can run
        // b's between a's two, so the Lab must reach "a got 0 and 2 s, b got 1 s".
        Func<Cx, Task> program = async cx =>
        {
            var every = cx.Interval(TimeSpan.FromSeconds(1));
            await cx.SleepAsync(TimeSpan.FromSeconds(3));
            TimeSpan a1 = default, a2 = default, b1 = default;
            var a = cx.Spawn("a", async cx =>
            {
                a1 = await every.TickAsync(cx);
                a2 = await every.TickAsync(cx);
            });
            var b = cx.Spawn("b", async cx => b1 = await every.TickAsync(cx));
            await a.JoinAsync(cx);
            await b.JoinAsync(cx);
            if (b1 > a1 && b1 < a2) throw new InvalidOperationException("b ticked between a's two ticks");
        };
        Assert.NotNull(Explore(program, ExploreStrategy.Dpor).FirstFailure);
        var without = Explore(program, ExploreStrategy.Dpor, LabOptions.Default with { ChoicePoints = false });
        Assert.Null(without.FirstFailure);
        Assert.True(without.Exhausted, without.Describe());
    }
}
