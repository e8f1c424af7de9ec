using System.Diagnostics;
using Asupersync.Sync;

namespace Asupersync.Benchmarks;

/// <summary>
/// The cost of the governor's hooks (issue 15): the potential's counters (<see cref="RuntimeOptions.TrackPotential"/>)
/// and the wait-for graph (<see cref="RuntimeOptions.DetectDeadlocks"/>: holder lists and the park-time check), on
/// the workloads that exercise them, against a same-run baseline with both off. Four runtimes (off, potential only,
/// graph only, both = the default) run each workload in rotating order every round, so all see the same load;
/// the figure is the median over rounds of each one's process CPU time (user + system, all threads: on a loaded
/// machine wall time mostly measures waiting for a core) over the baseline's in that round.
/// </summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Asupersync.Benchmarks -- --hooks [rounds [workload-substring]]</c>.</remarks>
internal static class HookCost
{
    private const int Contenders = 4, PerContender = 5_000, Spawns = 2_000;

    internal static async Task<int> RunAsync(int rounds, string? filter = null)
    {
        (string Name, Runtime Rt)[] configs =
        [
            ("off", Runtime.Create(new RuntimeOptions { PrintDiagnostics = false, DetectDeadlocks = false, TrackPotential = false })),
            ("potential", Runtime.Create(new RuntimeOptions { PrintDiagnostics = false, DetectDeadlocks = false })),
            ("graph", Runtime.Create(new RuntimeOptions { PrintDiagnostics = false, TrackPotential = false })),
            ("both (default)", Runtime.Create(new RuntimeOptions { PrintDiagnostics = false })),
        ];
        // Each round repeats a workload enough (about 0.1 s of CPU) for the process CPU clock's resolution.
        (string Name, int Ops, Func<Runtime, Task> Run)[] workloads =
        [
            ("spawn + complete + region close (2,000 children)", 30 * Spawns, rt => Repeat(30, () => SpawnChildren(rt))),
            ("AsyncMutex lock/unlock, 1 task (uncontended)", 40 * Contenders * PerContender, rt => Repeat(40, () => MutexLoop(rt, 1))),
            ("AsyncMutex lock/unlock, 4 contenders", 30 * Contenders * PerContender, rt => Repeat(30, () => MutexLoop(rt, Contenders))),
            ("AsyncSemaphore(1) acquire/release, 4 contenders", 10 * Contenders * PerContender, rt => Repeat(10, () => SemaphoreLoop(rt))),
            ("RwLock 2 writers + 2 readers", 50 * Contenders * PerContender, rt => Repeat(50, () => RwLockLoop(rt))),
        ];
        Console.WriteLine($"Hook cost, {rounds} rounds, {Environment.ProcessorCount} cores; load average at start: {LoadAverage()}");
        Console.WriteLine("| workload | off (CPU per op) | potential | graph | both (default) |");
        Console.WriteLine("| --- | --- | --- | --- | --- |");
        foreach (var w in workloads)
        {
            if (filter is not null && !w.Name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
            foreach (var c in configs) await w.Run(c.Rt); // warm up
            var times = new double[configs.Length][];
            for (int i = 0; i < configs.Length; i++) times[i] = new double[rounds];
            for (int r = 0; r < rounds; r++)
            {
                for (int k = 0; k < configs.Length; k++)
                {
                    int i = (k + r) % configs.Length;
                    var c0 = Process.GetCurrentProcess().TotalProcessorTime;
                    await w.Run(configs[i].Rt);
                    times[i][r] = (Process.GetCurrentProcess().TotalProcessorTime - c0).TotalSeconds;
                }
            }
            var cells = new List<string>();
            var off = (double[])times[0].Clone();
            Array.Sort(off);
            cells.Add(Ns(off[rounds / 2] / w.Ops));
            for (int i = 1; i < configs.Length; i++)
            {
                var ratios = new double[rounds];
                for (int r = 0; r < rounds; r++) ratios[r] = times[i][r] / times[0][r];
                Array.Sort(ratios);
                cells.Add($"{(ratios[rounds / 2] - 1) * 100:+0.0;-0.0}% (IQR {(ratios[rounds / 4] - 1) * 100:+0.0;-0.0}…{(ratios[3 * rounds / 4] - 1) * 100:+0.0;-0.0})");
            }
            Console.WriteLine($"| {w.Name} | {string.Join(" | ", cells)} |");
        }
        Console.WriteLine($"Load average at end: {LoadAverage()}");
        foreach (var c in configs) await c.Rt.DisposeAsync();
        return 0;
    }

    private static async Task Repeat(int n, Func<Task> op)
    {
        for (int i = 0; i < n; i++) await op();
    }

    private static async Task SpawnChildren(Runtime rt)
    {
        var o = await rt.RunAsync(cx => cx.RegionAsync("children", cx =>
        {
            for (int i = 0; i < Spawns; i++) cx.Spawn("c", _ => Task.CompletedTask);
            return Task.CompletedTask;
        }));
        if (!o.IsOk) throw new InvalidOperationException(o.ToString());
    }

    private static async Task MutexLoop(Runtime rt, int contenders)
    {
        int per = Contenders * PerContender / contenders;
        var o = await rt.RunAsync(cx =>
        {
            var m = new AsyncMutex();
            long counter = 0;
            return cx.RegionAsync("contenders", cx =>
            {
                for (int t = 0; t < contenders; t++)
                {
                    cx.Spawn("c", async cx =>
                    {
                        for (int i = 0; i < per; i++)
                        {
                            using (await m.LockAsync(cx)) counter++;
                        }
                    });
                }
                return Task.CompletedTask;
            });
        });
        if (!o.IsOk) throw new InvalidOperationException(o.ToString());
    }

    private static async Task SemaphoreLoop(Runtime rt)
    {
        var o = await rt.RunAsync(cx =>
        {
            var s = new AsyncSemaphore(1);
            long counter = 0;
            return cx.RegionAsync("contenders", cx =>
            {
                for (int t = 0; t < Contenders; t++)
                {
                    cx.Spawn("c", async cx =>
                    {
                        for (int i = 0; i < PerContender; i++)
                        {
                            var p = await s.AcquireAsync(cx);
                            counter++;
                            p.Release();
                        }
                    });
                }
                return Task.CompletedTask;
            });
        });
        if (!o.IsOk) throw new InvalidOperationException(o.ToString());
    }

    private static async Task RwLockLoop(Runtime rt)
    {
        var o = await rt.RunAsync(cx =>
        {
            var l = new RwLock();
            long counter = 0;
            return cx.RegionAsync("contenders", cx =>
            {
                for (int t = 0; t < Contenders; t++)
                {
                    bool writer = t % 2 == 0;
                    cx.Spawn(writer ? "w" : "r", async cx =>
                    {
                        for (int i = 0; i < PerContender; i++)
                        {
                            using (await (writer ? l.WriteAsync(cx) : l.ReadAsync(cx))) counter++;
                        }
                    });
                }
                return Task.CompletedTask;
            });
        });
        if (!o.IsOk) throw new InvalidOperationException(o.ToString());
    }

    private static string Ns(double seconds) => seconds >= 1e-6 ? $"{seconds * 1e6:F2} µs" : $"{seconds * 1e9:F0} ns";

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }
}
