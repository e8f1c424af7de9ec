using Asupersync.Lab;
using Asupersync.Tests.Sync;

namespace Asupersync.Tests.Primitives;

/// <summary>Interval timers on virtual time (exact) and on the production clock (order only, never durations).</summary>
public class IntervalTests
{
    private static readonly TimeSpan P = TimeSpan.FromMilliseconds(10);

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    /// <summary>Ticks at 0, then a stall of 35 ms, then four ticks: (due, now) for each.</summary>
    private static async Task<List<(TimeSpan Due, TimeSpan Now)>> StallThenTick(Cx cx, MissedTickBehavior mode)
    {
        var start = cx.Now;
        var every = cx.Interval(P, mode);
        var seen = new List<(TimeSpan, TimeSpan)>();
        seen.Add((await every.TickAsync(cx) - start, cx.Now - start));
        await cx.SleepAsync(Ms(35)); // ticks at 10, 20 and 30 are missed
        for (int i = 0; i < 4; i++) seen.Add((await every.TickAsync(cx) - start, cx.Now - start));
        return seen;
    }

    [Fact]
    public void Burst_DeliversEveryMissedTick_AndKeepsTheGrid() => LabTest.ForSeeds(10, async cx =>
    {
        var seen = await StallThenTick(cx, MissedTickBehavior.Burst);
        Assert.Equal([(Ms(0), Ms(0)), (Ms(10), Ms(35)), (Ms(20), Ms(35)), (Ms(30), Ms(35)), (Ms(40), Ms(40))], seen);
    });

    [Fact]
    public void Delay_DeliversOneLateTick_ThenAFullPeriodAfterIt() => LabTest.ForSeeds(10, async cx =>
    {
        var seen = await StallThenTick(cx, MissedTickBehavior.Delay);
        Assert.Equal([(Ms(0), Ms(0)), (Ms(10), Ms(35)), (Ms(45), Ms(45)), (Ms(55), Ms(55)), (Ms(65), Ms(65))], seen);
    });

    [Fact]
    public void Skip_DeliversOneLateTick_ThenTheNextGridPoint() => LabTest.ForSeeds(10, async cx =>
    {
        var seen = await StallThenTick(cx, MissedTickBehavior.Skip);
        Assert.Equal([(Ms(0), Ms(0)), (Ms(10), Ms(35)), (Ms(40), Ms(40)), (Ms(50), Ms(50)), (Ms(60), Ms(60))], seen);
        // The skipped count is observable.
        var every = cx.Interval(P, MissedTickBehavior.Skip);
        await every.TickAsync(cx);
        await cx.SleepAsync(Ms(35));
        await every.TickAsync(cx);
        Assert.Equal(2, every.SkippedTicks); // ticks due 20 and 30 ms after it started were dropped
    });

    [Fact]
    public void OnTime_AllBehavioursTickOnTheGrid() => LabTest.ForSeeds(5, async cx =>
    {
        foreach (var mode in Enum.GetValues<MissedTickBehavior>())
        {
            var start = cx.Now;
            var every = cx.Interval(P, mode);
            for (int k = 0; k < 5; k++)
            {
                var due = await every.TickAsync(cx);
                Assert.Equal(start + k * P, due);
                Assert.Equal(due, cx.Now);
            }
        }
    });

    private static async Task CancelledTickConsumesNothing(Cx cx)
    {
        var start = cx.Now;
        var every = cx.Interval(P);
        await every.TickAsync(cx); // t = 0
        var waiter = cx.Spawn("waiter", async cx => { await every.TickAsync(cx); });
        await cx.YieldAsync();
        waiter.Cancel();
        // The cancel lands at virtual time 0 (the root never slept), before the waiter's tick at 10 could fire:
        // wherever it landed (before the waiter started, or while it waited), the tick at 10 is still there.
        Assert.True((await waiter.JoinAsync(cx)).IsCancelled);
        Assert.Equal(start + P, await every.TickAsync(cx));
        Assert.Equal(start + 2 * P, every.NextTick);
    }

    [Fact]
    public void CancelWhileWaiting_ConsumesNoTick() => LabTest.ForSeeds(100, CancelledTickConsumesNothing);

    [Fact]
    public void CancelWhileWaiting_ConsumesNoTick_Deterministic() => LabTest.ForSeeds(20, async cx =>
    {
        var start = cx.Now;
        var every = cx.Interval(P);
        await every.TickAsync(cx);
        var waiter = cx.Spawn("waiter", async cx => { await every.TickAsync(cx); });
        await cx.WaitStartedAsync(waiter);
        await cx.SleepAsync(Ms(5)); // the waiter is parked until 10
        waiter.Cancel();
        Assert.True((await waiter.JoinAsync(cx)).IsCancelled);
        Assert.Equal(start + P, await every.TickAsync(cx)); // the tick at 10 is still there
    });

    [Fact]
    public void Reset_RestartsOnePeriodFromNow_AndIntervalAtStartsWhereAsked() => LabTest.ForSeeds(5, async cx =>
    {
        var start = cx.Now;
        var every = cx.Interval(P);
        await every.TickAsync(cx);
        await cx.SleepAsync(Ms(3));
        every.Reset(cx);
        Assert.Equal(start + Ms(13), await every.TickAsync(cx));
        var later = cx.IntervalAt(start + Ms(100), P, MissedTickBehavior.Skip);
        Assert.Equal(start + Ms(100), await later.TickAsync(cx));
        Assert.Equal(start + Ms(100), cx.Now);
    });

    [Fact]
    public async Task BadArguments_AreRejected()
    {
        var o = await Rt.Run(cx =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => cx.Interval(TimeSpan.Zero));
            Assert.Throws<ArgumentOutOfRangeException>(() => cx.Interval(-P));
            Assert.Throws<ArgumentOutOfRangeException>(() => cx.Interval(P, (MissedTickBehavior)42));
            Assert.Throws<CapabilityException>(() => cx.Narrow(Capabilities.Spawn).Interval(P));
            return Task.CompletedTask;
        });
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task ProductionClock_BurstTicksAreExactGridPoints_InOrder()
    {
        var o = await Rt.Run(async cx =>
        {
            var every = cx.Interval(TimeSpan.FromMilliseconds(1));
            var first = await every.TickAsync(cx);
            for (int k = 1; k <= 20; k++)
            {
                var due = await every.TickAsync(cx);
                Assert.Equal(first + k * TimeSpan.FromMilliseconds(1), due);
                Assert.True(cx.Now >= due); // never early
            }
        });
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task ProductionClock_DelayTicksAreNeverCloserThanThePeriod()
    {
        var o = await Rt.Run(async cx =>
        {
            var period = TimeSpan.FromMilliseconds(1);
            var every = cx.Interval(period, MissedTickBehavior.Delay);
            var prev = await every.TickAsync(cx);
            for (int k = 0; k < 20; k++)
            {
                var due = await every.TickAsync(cx);
                Assert.True(due - prev >= period);
                Assert.True(cx.Now >= due);
                prev = due;
            }
        });
        Assert.True(o.IsOk, o.ToString());
    }
}
