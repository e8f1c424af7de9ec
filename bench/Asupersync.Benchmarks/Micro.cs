using System.Diagnostics;

namespace Asupersync.Benchmarks;

/// <summary>
/// One idiom in a loop for a few seconds, for a sampling profiler (<c>perf record</c> with
/// <c>DOTNET_PerfMapEnabled=1</c>): prints the per-op time of each batch and the fastest batch (the least disturbed
/// by other load). Run: <c>dotnet bin/Release/net10.0/Asupersync.Benchmarks.dll --micro race|region|timeout|root [seconds]</c>.
/// </summary>
internal static class Micro
{
    internal static async Task<int> RunAsync(string which, double seconds)
    {
        var idiom = new IdiomBenchmarks();
        idiom.Setup();
        var root = new RootRunBenchmarks();
        root.Setup();
        const int RootOps = 2_000;
        Func<Task> op = which switch
        {
            "race" => idiom.RaceCompleted,
            "region" => idiom.RegionOpenClose,
            "timeout" => idiom.TimeoutCompleted,
            "root" => RootLoop,
            _ => throw new ArgumentException("race|region|timeout|root", nameof(which)),
        };
        int n = which == "root" ? RootOps : IdiomBenchmarks.Ops;
        double best = double.MaxValue;
        var end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        int batches = 0;
        long a0 = GC.GetTotalAllocatedBytes(precise: true);
        while (Stopwatch.GetTimestamp() < end)
        {
            long t0 = Stopwatch.GetTimestamp();
            await op();
            double s = Stopwatch.GetElapsedTime(t0).TotalSeconds / n;
            best = Math.Min(best, s);
            batches++;
        }
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - a0;
        Console.WriteLine($"{which}: best batch {best * 1e9:F0} ns/op over {batches} batches; {bytes / ((double)batches * n):F0} B/op");
        idiom.Cleanup();
        root.Cleanup();
        return 0;

        async Task RootLoop()
        {
            for (int i = 0; i < RootOps; i++) await root.RootRun();
        }
    }
}
