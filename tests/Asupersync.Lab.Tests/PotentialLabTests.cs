using Asupersync.Kernel;
using Asupersync.Lab;

namespace Asupersync.Lab.Tests;

/// <summary>The Lyapunov potential (issue 15 part 1, first step): incremental upkeep against a recount, and its fall during a drain.</summary>
public class PotentialLabTests
{
    /// <summary>Workers with obligations of different ages, deadlines, nested regions, and (even seeds) a drain.</summary>
    private static Func<Cx, Task> Mixed(ulong seed) => async cx =>
    {
        int n = 2 + (int)(seed % 4);
        await cx.RegionAsync("work", async rc =>
        {
            var hs = new List<TaskHandle<Unit>>();
            for (int i = 0; i < n; i++)
            {
                int id = i;
                var budget = (seed + (ulong)id) % 3 == 0 ? Budget.Timeout(TimeSpan.FromSeconds(5 + id)) : Budget.Unlimited;
                hs.Add(rc.Spawn($"w{id}", async c =>
                {
                    await c.SleepAsync(TimeSpan.FromMilliseconds(10 * (id + 1)));
                    var o = c.Reserve(ObligationKind.SendPermit, $"o{id}");
                    try
                    {
                        for (int k = 0; k < 1 + (id % 3); k++) await c.YieldAsync();
                        await c.SleepAsync(TimeSpan.FromMilliseconds(7 * (id + 1)));
                        if (id % 2 == 0) await c.RegionAsync("inner", async ic => await ic.YieldAsync());
                    }
                    finally
                    {
                        if (id % 2 == 0) o.Commit();
                        else o.Abort();
                    }
                }, budget));
            }
            await rc.SleepAsync(TimeSpan.FromMilliseconds(25));
            if (seed % 2 == 0) rc.CancelRegion("drain");
            foreach (var h in hs) await h.JoinAsync(rc);
        });
    };

    [Fact]
    public void Components_EqualARecount_AtEveryStepBoundary_AcrossSeeds()
    {
        long checks = 0;
        bool sawObligation = false, sawDraining = false, sawDeadline = false;
        LabProbes.Step = (task, _) =>
        {
            var read = task.Runtime.ReadPotential();
            var recount = task.Runtime.RecountPotential();
            Assert.Equal(recount, read);
            checks++;
            sawObligation |= read.OpenObligations > 0 && read.ObligationAge > TimeSpan.Zero;
            sawDraining |= read.DrainingRegions > 0;
            sawDeadline |= read.TasksWithDeadline > 0;
        };
        try
        {
            for (ulong seed = 1; seed <= 40; seed++)
            {
                var r = LabRuntime.Run(seed, Mixed(seed));
                Assert.True(r.Passed, r.Describe());
            }
        }
        finally
        {
            LabProbes.Step = null;
        }
        Assert.True(checks > 100, $"only {checks} checks");
        Assert.True(sawObligation && sawDraining && sawDeadline, $"obligation {sawObligation}, draining {sawDraining}, deadline {sawDeadline}");
    }

    /// <summary>Workers each hold 1–3 obligations reserved at different times and park; the region is then cancelled.</summary>
    private static Func<Cx, Task> Drain(ulong seed, Action onDrainStart) => async cx =>
    {
        int n = 2 + (int)(seed % 5);
        await cx.RegionAsync("work", async rc =>
        {
            int reserved = 0;
            for (int i = 0; i < n; i++)
            {
                int id = i;
                rc.Spawn($"w{id}", async c =>
                {
                    await c.SleepAsync(TimeSpan.FromMilliseconds(3 * (id + 1) + (int)(seed % 7)));
                    var obs = new List<Obligation>();
                    for (int k = 0; k <= id % 3; k++) obs.Add(c.Reserve(ObligationKind.SendPermit, $"o{id}.{k}"));
                    reserved++;
                    try
                    {
                        await c.SleepAsync(TimeSpan.FromHours(1));
                    }
                    finally
                    {
                        foreach (var o in obs) o.Commit();
                    }
                }, id % 2 == 0 ? Budget.Timeout(TimeSpan.FromMinutes(10)) : Budget.Unlimited);
            }
            await rc.SleepAsync(TimeSpan.FromMilliseconds(100));
            Assert.Equal(n, reserved);
            rc.CancelRegion("drain");
            onDrainStart();
        });
    };

    [Fact]
    public void DuringADrain_WithNoNewWork_ThePotentialNeverIncreases_BetweenSteps_AcrossSeeds()
    {
        for (ulong seed = 1; seed <= 40; seed++)
        {
            bool draining = false;
            var samples = new List<(double V, TimeSpan Now, Potential P)>();
            LabProbes.Step = (task, _) =>
            {
                if (draining)
                {
                    var p = task.Runtime.ReadPotential();
                    samples.Add((p.Value, task.Runtime.Now, p));
                }
            };
            try
            {
                var r = LabRuntime.Run(seed, Drain(seed, () => draining = true));
                Assert.True(r.Passed, r.Describe());
            }
            finally
            {
                LabProbes.Step = null;
            }
            Assert.True(samples.Count > 2, $"seed {seed}: {samples.Count} samples");
            Assert.True(samples[0].P.DrainingRegions >= 1 && samples[0].P.OpenObligations > 0, $"seed {seed}: {samples[0].P}");
            for (int i = 1; i < samples.Count; i++)
            {
                Assert.Equal(samples[0].Now, samples[i].Now); // no timer fires during this drain: time stands still
                Assert.True(samples[i].V <= samples[i - 1].V + 1e-9, $"seed {seed}: V rose at sample {i}: {samples[i - 1].P} -> {samples[i].P}");
            }
            Assert.True(samples[^1].V < samples[0].V);
            Assert.Equal(0, samples[^1].P.OpenObligations);
            Assert.Equal(0, samples[^1].P.DrainingRegions);
        }
    }

    [Fact]
    public void TheEventsThatRaiseIt_AreSpawn_RegionDraining_AndTimeWithOpenObligations_AndReserveAloneDoesNot()
    {
        var r = LabRuntime.Run(7, async cx =>
        {
            var rt = cx.Task.Runtime;
            var w = rt.Options.PotentialWeights ?? PotentialWeights.Default;
            var v0 = rt.ReadPotential();

            // A spawn raises V by w1 (and a task with a deadline adds w4 of deadline pressure).
            var plain = cx.Spawn("plain", async c => await c.SleepAsync(TimeSpan.FromSeconds(30)));
            var v1 = rt.ReadPotential();
            Assert.Equal(v0.LiveTasks + 1, v1.LiveTasks);
            Assert.Equal(v0.Value + w.LiveTasks, v1.Value, 9);
            var timed = cx.Spawn("timed", async c => await c.SleepAsync(TimeSpan.FromSeconds(30)), Budget.Timeout(TimeSpan.FromMinutes(1)));
            var v2 = rt.ReadPotential();
            Assert.Equal(v1.TasksWithDeadline + 1, v2.TasksWithDeadline);
            Assert.Equal(v1.Value + w.LiveTasks + w.DeadlinePressure, v2.Value, 9);

            // A reserve alone does not raise V (the new obligation's age is zero) ...
            var o = cx.Reserve(ObligationKind.SendPermit, "held");
            var v3 = rt.ReadPotential();
            Assert.Equal(v2.OpenObligations + 1, v3.OpenObligations);
            Assert.Equal(v2.Value, v3.Value, 9);
            // ... but time passing with it open does: w2 per second per open obligation.
            await cx.SleepAsync(TimeSpan.FromSeconds(2));
            var v4 = rt.ReadPotential();
            Assert.Equal(TimeSpan.FromSeconds(2), v4.ObligationAge);
            Assert.Equal(v3.Value + (2 * w.ObligationAgeSeconds), v4.Value, 9);

            // A region entering Draining raises V by w3; its tasks completing and its finalizing bring it back down.
            await cx.RegionAsync("child", async rc =>
            {
                rc.Spawn("parked", async c => await c.SleepAsync(TimeSpan.FromHours(1)));
                var before = rt.ReadPotential();
                rc.CancelRegion("drain");
                var after = rt.ReadPotential();
                Assert.Equal(before.DrainingRegions + 1, after.DrainingRegions);
                Assert.Equal(before.Value + w.DrainingRegions, after.Value, 9);
            });
            Assert.Equal(v4.DrainingRegions, rt.ReadPotential().DrainingRegions);

            // Resolving and completing only lower it.
            var v5 = rt.ReadPotential();
            o.Commit();
            var v6 = rt.ReadPotential();
            Assert.True(v6.Value < v5.Value);
            plain.Cancel();
            timed.Cancel();
            await plain.JoinAsync(cx);
            await timed.JoinAsync(cx);
            var v7 = rt.ReadPotential();
            Assert.Equal(v6.LiveTasks - 2, v7.LiveTasks);
            Assert.Equal(0, v7.TasksWithDeadline);
            Assert.Equal(v6.Value - (2 * w.LiveTasks) - w.DeadlinePressure, v7.Value, 9);
        });
        Assert.True(r.Passed, r.Describe());
    }

    [Fact]
    public void Presets_AndCustomWeights_WeightTheComponents()
    {
        Assert.Equal(new PotentialWeights(1, 1, 1, 1), PotentialWeights.Default);
        Assert.True(PotentialWeights.ObligationFocused.ObligationAgeSeconds > PotentialWeights.Default.ObligationAgeSeconds);
        Assert.True(PotentialWeights.DeadlineFocused.DeadlinePressure > PotentialWeights.Default.DeadlinePressure);
        var custom = new PotentialWeights(2, 3, 5, 7);
        Potential seen = default;
        var r = LabRuntime.Run(3, async cx =>
        {
            var o = cx.Reserve(ObligationKind.SendPermit, "held");
            var t = cx.Spawn("timed", async c => await c.SleepAsync(TimeSpan.FromSeconds(30)), Budget.Timeout(TimeSpan.FromMinutes(1)));
            await cx.SleepAsync(TimeSpan.FromSeconds(4));
            seen = cx.Task.Runtime.ReadPotential();
            o.Commit();
            t.Cancel();
            await t.JoinAsync(cx);
        }, new LabOptions { Runtime = new RuntimeOptions { PrintDiagnostics = false, PotentialWeights = custom } });
        Assert.True(r.Passed, r.Describe());
        Assert.Same(custom, seen.Weights);
        Assert.Equal((2.0 * seen.LiveTasks) + (3.0 * seen.ObligationAge.TotalSeconds) + (5.0 * seen.DrainingRegions) + (7.0 * seen.DeadlinePressure), seen.Value, 9);
        Assert.Equal(TimeSpan.FromSeconds(4), seen.ObligationAge);
        Assert.Equal(1, seen.TasksWithDeadline);
    }
}

/// <summary>
/// The drain property over generated programs (CsCheck, fixed seeds): from the cancel on, V never rises from one
/// sample to the next except where a listed raising event happened in between — a task spawned (live tasks rose) or a
/// region entered Draining — and in programs whose cleanup spawns nothing it never rises at all.
/// </summary>
public class PotentialDrainPropertyTests
{
    private sealed record Worker(int Obligations, int ReserveDelayMs, int CleanupSteps, bool Deadline, int CleanupSpawn);

    private sealed record Program(Worker[] Workers)
    {
        public bool SpawnsInCleanup => Workers.Any(w => w.CleanupSpawn != 0);

        public override string ToString() => string.Join(" | ", Workers.Select(w => $"ob{w.Obligations} d{w.ReserveDelayMs} c{w.CleanupSteps}{(w.Deadline ? " dl" : "")}{(w.CleanupSpawn == 1 ? " spawn" : w.CleanupSpawn == 2 ? " region" : "")}"));
    }

    private static readonly CsCheck.Gen<Worker> GenWorker =
        CsCheck.Gen.Select(CsCheck.Gen.Int[0, 3], CsCheck.Gen.Int[1, 20], CsCheck.Gen.Int[0, 3], CsCheck.Gen.Bool, CsCheck.Gen.Int[0, 5],
            (o, d, c, dl, sp) => new Worker(o, d, c, dl, sp <= 2 ? sp : 0));

    private static readonly CsCheck.Gen<Program> GenProgram = CsCheck.Gen.Select(GenWorker.Array[1, 6], ws => new Program(ws));

    private static Func<Cx, Task> Build(Program p, Action onDrainStart) => async cx =>
    {
        await cx.RegionAsync("work", async rc =>
        {
            int parked = 0;
            for (int i = 0; i < p.Workers.Length; i++)
            {
                var w = p.Workers[i];
                rc.Spawn($"w{i}", async c =>
                {
                    await c.SleepAsync(TimeSpan.FromMilliseconds(w.ReserveDelayMs));
                    var obs = Enumerable.Range(0, w.Obligations).Select(k => c.Reserve(ObligationKind.SendPermit, $"o{k}")).ToList();
                    parked++;
                    try
                    {
                        await c.SleepAsync(TimeSpan.FromHours(1));
                    }
                    finally
                    {
                        using (c.Mask())
                        {
                            for (int k = 0; k < w.CleanupSteps; k++) await c.YieldAsync();
                            try
                            {
                                if (w.CleanupSpawn == 1) await c.Spawn("cleanup-child", async cc => await cc.YieldAsync()).JoinAsync(c);
                                if (w.CleanupSpawn == 2) await c.RegionAsync("cleanup-region", async cc => await cc.YieldAsync());
                            }
                            catch (Exception e) when (e is not CancelledException)
                            {
                                // A spawn refused by the draining region raises nothing.
                            }
                        }
                        foreach (var o in obs) o.Commit();
                    }
                }, w.Deadline ? Budget.Timeout(TimeSpan.FromMinutes(10)) : Budget.Unlimited);
            }
            await rc.SleepAsync(TimeSpan.FromMilliseconds(50));
            Assert.Equal(p.Workers.Length, parked);
            rc.CancelRegion("drain");
            onDrainStart();
        });
    };

    [Fact]
    public void GeneratedDrains_VRisesOnlyWithASpawnOrARegionEnteringDraining()
    {
        int programs = 0, withSpawns = 0, raises = 0;
        for (int seed = 0; seed < 60; seed++)
        {
            var program = GenProgram.Generate(new CsCheck.PCG(15, (ulong)seed), null, out _);
            bool draining = false;
            var samples = new List<Potential>();
            var times = new List<TimeSpan>();
            LabProbes.Step = (task, _) =>
            {
                if (!draining) return;
                samples.Add(task.Runtime.ReadPotential());
                times.Add(task.Runtime.Now);
            };
            try
            {
                var r = LabRuntime.Run((ulong)seed + 1, Build(program, () => draining = true));
                Assert.True(r.Passed, $"program {seed} ({program}): {r.Describe()}");
            }
            finally
            {
                LabProbes.Step = null;
            }
            programs++;
            if (program.SpawnsInCleanup) withSpawns++;
            Assert.True(samples.Count > 1, $"program {seed}: {samples.Count} samples");
            for (int i = 1; i < samples.Count; i++)
            {
                Assert.Equal(times[0], times[i]); // nothing sleeps during the drain: time stands still
                if (samples[i].Value <= samples[i - 1].Value + 1e-9) continue;
                raises++;
                bool listed = samples[i].LiveTasks > samples[i - 1].LiveTasks || samples[i].DrainingRegions > samples[i - 1].DrainingRegions;
                Assert.True(listed, $"program {seed} ({program}): V rose at sample {i} without a spawn or a region entering Draining: {samples[i - 1]} -> {samples[i]}");
                Assert.True(program.SpawnsInCleanup, $"program {seed} ({program}): V rose at sample {i} in a program whose cleanup spawns nothing");
            }
            Assert.Equal(0, samples[^1].OpenObligations);
        }
        Assert.Equal(60, programs);
        Assert.True(withSpawns > 5 && withSpawns < 55, $"{withSpawns} of 60 programs spawn in cleanup");
        Assert.True(raises > 0, "no program exercised a listed raising event");
    }
}
