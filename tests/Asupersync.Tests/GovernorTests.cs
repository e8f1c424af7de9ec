using Asupersync.Sync;

namespace Asupersync.Tests;

/// <summary>
/// The Lyapunov governor (<see cref="RuntimeOptions.SteerByPotential"/>) on the production scheduler. One worker, so the
/// dispatch order of tasks queued in one step is deterministic; a manual clock, so obligation ages are exact.
/// </summary>
public class GovernorTests
{
    /// <summary>Runtime time that moves only when a test advances it (no timer in these programs is ever due).</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = TimeSpan.TicksPerDay;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Volatile.Read(ref _ticks);

        public void Advance(TimeSpan d) => Interlocked.Add(ref _ticks, d.Ticks);
    }

    private static RuntimeOptions Options(bool steer, PotentialWeights weights, TimeProvider? time = null, int streak = 16) => new()
    {
        WorkerCount = 1,
        PrintDiagnostics = false,
        SteerByPotential = steer,
        PotentialWeights = weights,
        TimeProvider = time ?? TimeProvider.System,
        CancelStreakLimit = streak,
    };

    /// <summary>
    /// Six tasks reserve an obligation each, in the order <paramref name="reserveOrder"/> (one second apart), then park;
    /// the region is cancelled; returns the order in which their cleanup ran.
    /// </summary>
    private static async Task<List<int>> DrainOrder(bool steer, PotentialWeights weights, int[] reserveOrder)
    {
        var clock = new ManualTime();
        await using var rt = Runtime.Create(Options(steer, weights, clock));
        var order = new List<int>();
        var outcome = await rt.RunAsync(async cx =>
        {
            int n = reserveOrder.Length, reserved = 0;
            var gate = new AsyncSemaphore(0);
            var turns = Enumerable.Range(0, n).Select(_ => new AsyncSemaphore(0)).ToArray();
            await cx.RegionAsync("drain", async rc =>
            {
                for (int i = 0; i < n; i++)
                {
                    int id = i;
                    rc.Spawn($"c{id}", async c =>
                    {
                        using (await turns[id].AcquireAsync(c)) { }
                        var o = c.Reserve(ObligationKind.SendPermit, $"o{id}");
                        reserved++;
                        try
                        {
                            using (await gate.AcquireAsync(c)) { }
                        }
                        finally
                        {
                            order.Add(id);
                            o.Commit();
                        }
                    });
                }
                for (int k = 0; k < n; k++)
                {
                    clock.Advance(TimeSpan.FromSeconds(1));
                    turns[reserveOrder[k]].Release();
                    for (int spin = 0; reserved < k + 1 && spin < 10_000; spin++) await rc.YieldAsync();
                    Assert.Equal(k + 1, reserved);
                }
                clock.Advance(TimeSpan.FromSeconds(1));
                rc.CancelRegion("drain");
            });
        }).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal(0, rt.Potential.OpenObligations);
        return order;
    }

    [Fact]
    public async Task ObligationFocused_DrainsTheHoldersOfTheOldestObligationsFirst()
    {
        int[] reserveOrder = [3, 0, 5, 1, 4, 2];
        var governed = await DrainOrder(steer: true, PotentialWeights.ObligationFocused, reserveOrder);
        Assert.Equal(reserveOrder, governed);
        // Default weights weigh obligation age too, so they steer the same way here.
        Assert.Equal(reserveOrder, await DrainOrder(steer: true, PotentialWeights.Default, reserveOrder));
        // Without the governor the cancel lane is served in arrival order, which is not the age order here.
        var plain = await DrainOrder(steer: false, PotentialWeights.ObligationFocused, reserveOrder);
        Assert.Equal(reserveOrder.Order(), plain.Order());
        Assert.NotEqual(reserveOrder, plain);
    }

    [Fact]
    public async Task DeadlineFocused_DrainsTheLeastSlackFirst()
    {
        int[] hours = [5, 2, 9, 1, 7, 3];
        async Task<List<int>> Run(bool steer)
        {
            await using var rt = Runtime.Create(Options(steer, PotentialWeights.DeadlineFocused));
            var order = new List<int>();
            var outcome = await rt.RunAsync(async cx =>
            {
                int parked = 0;
                var gate = new AsyncSemaphore(0);
                await cx.RegionAsync("drain", async rc =>
                {
                    for (int i = 0; i < hours.Length; i++)
                    {
                        int id = i;
                        rc.Spawn($"c{id}", async c =>
                        {
                            parked++;
                            try
                            {
                                using (await gate.AcquireAsync(c)) { }
                            }
                            finally
                            {
                                order.Add(id);
                            }
                        }, Budget.Timeout(TimeSpan.FromHours(hours[id])));
                    }
                    for (int spin = 0; (parked < hours.Length || gate.WaitingCount < hours.Length) && spin < 10_000; spin++) await rc.YieldAsync();
                    Assert.Equal(hours.Length, gate.WaitingCount);
                    rc.CancelRegion("drain");
                });
            }).WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(outcome.IsOk, outcome.ToString());
            return order;
        }
        var byDeadline = Enumerable.Range(0, hours.Length).OrderBy(i => hours[i]).ToList();
        Assert.Equal(byDeadline, await Run(steer: true));
        Assert.NotEqual(byDeadline, await Run(steer: false));
    }

    /// <summary>
    /// A task with a deadline ('T', eight steps) becomes ready in the same step as four cancelled tasks ('C', one step
    /// each). Without the governor the cancel lane goes first; with it the timed task scores higher (it has deadline
    /// pressure, they have nothing to resolve) and goes ahead, but at most the streak limit (3) times in a row.
    /// (Without it the cancel lane still yields to the timed lane once after 3 in a row.)
    /// </summary>
    [Fact]
    public async Task BetweenLanes_TheTimedTaskGoesAhead_WithinTheStreakLimit()
    {
        async Task<string> Run(bool steer)
        {
            await using var rt = Runtime.Create(Options(steer, PotentialWeights.DeadlineFocused, streak: 3));
            var order = new List<char>();
            var outcome = await rt.RunAsync(async cx =>
            {
                int parked = 0;
                var gate = new AsyncSemaphore(0);
                var go = new AsyncSemaphore(0);
                var t = cx.Spawn("T", async c =>
                {
                    using (await go.AcquireAsync(c))
                    {
                        for (int k = 0; k < 8; k++)
                        {
                            order.Add('T');
                            await c.YieldAsync();
                        }
                    }
                }, Budget.Timeout(TimeSpan.FromHours(1)));
                await cx.RegionAsync("drain", async rc =>
                {
                    for (int i = 0; i < 4; i++)
                    {
                        rc.Spawn($"c{i}", async c =>
                        {
                            parked++;
                            try
                            {
                                using (await gate.AcquireAsync(c)) { }
                            }
                            finally
                            {
                                order.Add('C');
                            }
                        });
                    }
                    for (int spin = 0; (parked < 4 || gate.WaitingCount < 4 || go.WaitingCount < 1) && spin < 10_000; spin++) await rc.YieldAsync();
                    Assert.Equal(4, gate.WaitingCount);
                    go.Release();
                    rc.CancelRegion("drain");
                });
                await t.JoinAsync(cx);
            }).WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(outcome.IsOk, outcome.ToString());
            return new string(order.ToArray());
        }
        Assert.Equal("TTTCTTTCTTCC", await Run(steer: true));
        Assert.Equal("CCCTCTTTTTTT", await Run(steer: false)); // the cancel lane first, yielding once after 3
    }

    /// <summary>Two workers, every preset: a mixed workload (deadlines, obligations, cancels, nested regions) completes and V returns to zero.</summary>
    [Fact]
    public async Task Governed_MixedWorkload_OnTwoWorkers_Completes_AndVReturnsToZero()
    {
        foreach (var weights in new[] { PotentialWeights.Default, PotentialWeights.ObligationFocused, PotentialWeights.DeadlineFocused })
        {
            await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false, SteerByPotential = true, PotentialWeights = weights, CancelStreakLimit = 4 });
            int done = 0;
            var outcome = await rt.RunAsync(async cx =>
            {
                for (int round = 0; round < 10; round++)
                {
                    await cx.RegionAsync("round", async rc =>
                    {
                        for (int i = 0; i < 40; i++)
                        {
                            int id = i;
                            rc.Spawn($"w{id}", async c =>
                            {
                                var o = id % 3 == 0 ? c.Reserve(ObligationKind.SendPermit, "held") : null;
                                try
                                {
                                    for (int k = 0; k < 1 + (id % 4); k++) await c.YieldAsync();
                                    if (id % 5 == 0) await c.RegionAsync("inner", async ic => await ic.YieldAsync());
                                }
                                finally
                                {
                                    o?.Commit();
                                    Interlocked.Increment(ref done);
                                }
                            }, id % 2 == 0 ? Budget.Timeout(TimeSpan.FromHours(1)) : Budget.Unlimited);
                        }
                        await rc.YieldAsync();
                        if (round % 2 == 1) rc.CancelRegion("drain");
                    });
                }
            }).WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(outcome.IsOk, outcome.ToString());
            Assert.Equal(0, rt.Potential.LiveTasks);
            Assert.Equal(0, rt.Potential.OpenObligations);
        }
    }
}
