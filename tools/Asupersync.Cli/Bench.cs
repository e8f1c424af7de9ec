using System.Diagnostics;
using Asupersync.Lab;
using Asupersync.Lab.Exploration;

namespace Asupersync.Cli;

/// <summary>The <c>bench</c> command: schedules per second, measured on this machine.</summary>
internal static class Bench
{
    private const int Tasks = 3, StepsPerTask = 20;

    internal static async Task ThreeTasks(Cx cx)
    {
        var a = cx.Spawn("a", Worker);
        var b = cx.Spawn("b", Worker);
        var c = cx.Spawn("c", Worker);
        await a.JoinAsync(cx);
        await b.JoinAsync(cx);
        await c.JoinAsync(cx);
    }

    private static async Task Worker(Cx cx)
    {
        for (int i = 0; i < StepsPerTask - 1; i++) await cx.YieldAsync();
    }

    internal static int Run(TextWriter output, int schedules)
    {
        output.WriteLine($"program: {Tasks} tasks x {StepsPerTask} steps, joined by the root; up to {schedules} schedules per measurement; one thread");
        int steps = LabRuntime.Run(1, ThreeTasks).Steps;
        output.WriteLine($"steps per schedule: {steps}");
        // Warm up every path first (tiered JIT), then measure.
        for (int round = 0; round < 2; round++)
        {
            int n = round == 0 ? Math.Max(1, schedules / 10) : schedules;
            string suffix = round == 0 ? " [warm-up]" : "";
            Measure(output, "Lab exploration, random (events off)" + suffix, () => Explore(ExploreStrategy.Random, n));
            Measure(output, "Lab exploration, PCT d=3 (events off)" + suffix, () => Explore(ExploreStrategy.Pct, n));
            Measure(output, "Lab exploration, DPOR (to exhaustion)" + suffix, () => Explore(ExploreStrategy.Dpor, n));
            Measure(output, "LabRuntime.Run (full trace + oracles)" + suffix, () =>
            {
                for (int i = 0; i < n; i++) LabRuntime.Run((ulong)i, ThreeTasks);
                return n;
            });
            // The refinement oracle (docs/FORMAL.md): the same runs replayed through the reference model.
            var refined = new LabOptions { CheckRefinement = true };
            Measure(output, "LabRuntime.Run (full trace + oracles + refinement)" + suffix, () =>
            {
                for (int i = 0; i < n; i++) LabRuntime.Run((ulong)i, ThreeTasks, refined);
                return n;
            });
            int prod = Math.Max(1, n / 4);
            using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 1, PrintDiagnostics = false });
            Measure(output, "production runtime, 1 worker (same program)" + suffix, () =>
            {
                for (int i = 0; i < prod; i++) rt.Run(ThreeTasks);
                return prod;
            });
        }
        return 0;
    }

    private static int Explore(ExploreStrategy strategy, int n)
    {
        var r = LabRuntime.Explore(ThreeTasks, new ExploreOptions { Strategy = strategy, MaxSchedules = n, StopOnFirstFailure = false, MaxWallTime = TimeSpan.FromMinutes(10) });
        return r.Schedules + r.PrunedSchedules;
    }

    private static void Measure(TextWriter output, string what, Func<int> body)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        int n = body();
        sw.Stop();
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        output.WriteLine($"{what,-58} {n,7} runs {n / sw.Elapsed.TotalSeconds,10:N0} schedules/s  {sw.Elapsed.TotalMicroseconds / n,8:N1} µs/schedule  {allocated / (double)n / 1024,6:N1} KiB/schedule (this thread)");
    }
}
