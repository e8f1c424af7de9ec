using System.Diagnostics;
using System.Globalization;
using Asupersync.Sync;

namespace Asupersync.Benchmarks;

/// <summary>
/// The governor's presets against no steering (issue 15), same run, rotating order every round. The workload: a region
/// of 2,000 parked tasks, a quarter of them (spread through the region) holding an obligation reserved
/// <c>age</c> earlier, is cancelled; every task cleans up in 4 masked steps; at the same moment 100 tasks with
/// deadlines (spread over 1–20 % of a calibrated drain time) start 8 steps of work each. Measured per configuration:
/// the time from the cancel until Σ obligation age is zero (the last obligation resolved), the mean time until each
/// obligation resolved, the drain time, and how many of the timed tasks missed their deadline. Two obligation ages:
/// 0.5 s (younger than a fresh deadline's pressure under Default weights) and 1.5 s (older).
/// </summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Asupersync.Benchmarks -- --governor [rounds [workers]]</c> (default 5 rounds, 1 worker).</remarks>
internal static class GovernorBench
{
    private const int Tasks = 2_000, HolderEvery = 4, CleanupSteps = 4, Timed = 100, TimedSteps = 8;

    private sealed record Result(double OblZeroMs, double OblMeanMs, double DrainMs, int Misses);

    internal static async Task<int> RunAsync(int rounds, int workers)
    {
        (string Name, RuntimeOptions Options)[] configs =
        [
            ("no steering", new RuntimeOptions { WorkerCount = workers, PrintDiagnostics = false }),
            ("Default", new RuntimeOptions { WorkerCount = workers, PrintDiagnostics = false, SteerByPotential = true, PotentialWeights = PotentialWeights.Default }),
            ("ObligationFocused", new RuntimeOptions { WorkerCount = workers, PrintDiagnostics = false, SteerByPotential = true, PotentialWeights = PotentialWeights.ObligationFocused }),
            ("DeadlineFocused", new RuntimeOptions { WorkerCount = workers, PrintDiagnostics = false, SteerByPotential = true, PotentialWeights = PotentialWeights.DeadlineFocused }),
        ];
        Console.WriteLine($"Governor presets, {rounds} rounds, {workers} worker(s), {Environment.ProcessorCount} cores; load average at start: {LoadAverage()}");
        // Calibrate the deadlines on the unsteered drain without timed tasks.
        double drain;
        {
            await using var rt = Runtime.Create(configs[0].Options);
            var samples = new List<double>();
            for (int i = 0; i < 3; i++) samples.Add((await Once(rt, TimeSpan.Zero, null, seed: i)).DrainMs);
            drain = Median(samples);
        }
        Console.WriteLine($"calibrated drain (no timed tasks): {drain:F1} ms; deadlines spread over {0.01 * drain:F1}–{0.2 * drain:F1} ms");
        // Cost: the drain alone (no timed tasks, obligations of age zero): the governor's heap and lock against the lock-free lanes.
        {
            var drains = configs.Select(_ => new List<double>()).ToArray();
            for (int r = 0; r < rounds; r++)
            {
                for (int k = 0; k < configs.Length; k++)
                {
                    int c = (r + k) % configs.Length;
                    await using var rt = Runtime.Create(configs[c].Options);
                    drains[c].Add((await Once(rt, TimeSpan.Zero, null, seed: r)).DrainMs);
                }
            }
            Console.WriteLine();
            Console.WriteLine($"cost: drain of {Tasks} tasks × {CleanupSteps + 1} steps, no timed tasks (median ms; ratio to no steering in the same rounds)");
            double baseline = Median(drains[0]);
            for (int c = 0; c < configs.Length; c++)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {configs[c].Name} | {Median(drains[c]):F1} ms | {Median(drains[c]) / baseline:F2}× |"));
            }
        }
        foreach (var age in new[] { TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1.5) })
        {
            var results = configs.Select(_ => new List<Result>()).ToArray();
            for (int r = 0; r < rounds; r++)
            {
                for (int k = 0; k < configs.Length; k++)
                {
                    int c = (r + k) % configs.Length;
                    await using var rt = Runtime.Create(configs[c].Options);
                    results[c].Add(await Once(rt, age, (0.01 * drain, 0.2 * drain), seed: r));
                }
            }
            Console.WriteLine();
            Console.WriteLine($"obligation age at the cancel: {age.TotalSeconds} s (medians over {rounds} rounds)");
            Console.WriteLine("| configuration | Σ obligation age → 0 (ms after cancel) | mean obligation resolved (ms) | drain (ms) | deadline misses (of 100) |");
            Console.WriteLine("| --- | --- | --- | --- | --- |");
            for (int c = 0; c < configs.Length; c++)
            {
                var rs = results[c];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {configs[c].Name} | {Median(rs.Select(x => x.OblZeroMs)):F1} | {Median(rs.Select(x => x.OblMeanMs)):F1} | {Median(rs.Select(x => x.DrainMs)):F1} | {Median(rs.Select(x => (double)x.Misses)):F0} |"));
            }
        }
        Console.WriteLine($"Load average at end: {LoadAverage()}");
        return 0;
    }

    private static async Task<Result> Once(Runtime rt, TimeSpan age, (double Min, double Max)? deadlines, int seed)
    {
        var rng = new Random(1234 + seed);
        long cancelAt = 0, oblZeroAt = 0, oblSum = 0, drainAt = 0;
        int holders = 0, misses = 0;
        long lastTimed = 0;
        var outcome = await rt.RunAsync(async cx =>
        {
            var gate = new AsyncSemaphore(0);
            var timed = new List<TaskHandle<Unit>>();
            var drainer = cx.Spawn("drainer", dc => dc.RegionAsync("drain", async rc =>
            {
                for (int i = 0; i < Tasks; i++)
                {
                    bool holds = i % HolderEvery == 1;
                    if (holds) Interlocked.Increment(ref holders);
                    rc.Spawn($"d{i}", async c =>
                    {
                        var o = holds ? c.Reserve(ObligationKind.SendPermit, "held") : null;
                        try
                        {
                            using (await gate.AcquireAsync(c)) { }
                        }
                        finally
                        {
                            using (c.Mask())
                            {
                                for (int k = 0; k < CleanupSteps; k++) await c.YieldAsync();
                            }
                            if (o is not null)
                            {
                                o.Commit();
                                long now = Stopwatch.GetTimestamp();
                                Interlocked.Add(ref oblSum, now - Volatile.Read(ref cancelAt));
                                if (Interlocked.Decrement(ref holders) == 0) oblZeroAt = now;
                            }
                        }
                    });
                }
                using (await gate.AcquireAsync(rc)) { }
            }));
            for (int spin = 0; gate.WaitingCount < Tasks + 1 && spin < 1_000_000; spin++) await cx.YieldAsync();
            if (age > TimeSpan.Zero) await cx.SleepAsync(age);
            // One step: the timed tasks start and the drain begins together.
            Volatile.Write(ref cancelAt, Stopwatch.GetTimestamp());
            if (deadlines is { } d)
            {
                for (int j = 0; j < Timed; j++)
                {
                    var ms = d.Min + (rng.NextDouble() * (d.Max - d.Min));
                    timed.Add(cx.Spawn($"t{j}", async c =>
                    {
                        for (int k = 0; k < TimedSteps; k++) await c.YieldAsync();
                        long end = Stopwatch.GetTimestamp() - Volatile.Read(ref cancelAt);
                        lock (timed) lastTimed = Math.Max(lastTimed, end);
                    }, Budget.Timeout(TimeSpan.FromMilliseconds(ms))));
                }
            }
            drainer.Cancel();
            var drained = await drainer.JoinAsync(cx);
            if (!drained.IsCancelled || holders != 0) throw new InvalidOperationException($"drain: {drained}, {holders} holders left");
            drainAt = Stopwatch.GetTimestamp();
            foreach (var t in timed)
            {
                var o = await t.JoinAsync(cx);
                if (!o.IsOk) misses++;
            }
        });
        if (!outcome.IsOk) throw new InvalidOperationException(outcome.ToString());
        if (Environment.GetEnvironmentVariable("GOVERNOR_DEBUG") is not null) Console.WriteLine($"debug: last timed task done {lastTimed * 1000.0 / Stopwatch.Frequency:F1} ms after the cancel, misses {misses}, deadlines {deadlines}");
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        int total = (Tasks + HolderEvery - 2) / HolderEvery;
        return new Result(Ms(oblZeroAt - cancelAt), Ms(oblSum) / total, Ms(drainAt - cancelAt), misses);
    }

    private static double Median(IEnumerable<double> xs)
    {
        var a = xs.Order().ToArray();
        return a.Length == 0 ? double.NaN : a.Length % 2 == 1 ? a[a.Length / 2] : (a[(a.Length / 2) - 1] + a[a.Length / 2]) / 2;
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }
}
