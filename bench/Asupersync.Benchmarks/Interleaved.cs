using System.Diagnostics;

namespace Asupersync.Benchmarks;

/// <summary>
/// A side-by-side harness for a machine shared with other work: each idiom and its .NET baseline run in
/// alternating rounds (A, B, A, B, …) so that both see the same load, and the figure reported is the median of
/// the per-round ratios. BenchmarkDotNet runs all of A before all of B, so a load change between them skews its
/// ratio; this harness trades BenchmarkDotNet's statistics for that pairing. Allocation per operation comes from
/// <see cref="GC.GetTotalAllocatedBytes(bool)"/> (precise) over the round.
/// </summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Asupersync.Benchmarks -- --interleaved [rounds]</c>.</remarks>
internal static class Interleaved
{
    private sealed record Pair(string Idiom, string BaselineName, Func<Task> Baseline, string ProjectName, Func<Task> Project, int OpsPerRound);

    internal static async Task<int> RunAsync(int rounds)
    {
        var idiom = new IdiomBenchmarks();
        idiom.Setup();
        var root = new RootRunBenchmarks();
        root.Setup();
        const int RootOps = 2_000;
        var pairs = new[]
        {
            new Pair("race of two completed branches", "Task.WhenAny(FromResult, FromResult)", idiom.WhenAnyCompleted, "cx.RaceAsync", idiom.RaceCompleted, IdiomBenchmarks.Ops),
            new Pair("child region open + close (empty body)", "linked CTS create + dispose", idiom.LinkedCts, "cx.RegionAsync", idiom.RegionOpenClose, IdiomBenchmarks.Ops),
            new Pair("timeout around an operation that completes at once", "linked CTS + CancelAfter", idiom.CancelAfterLinked, "cx.TimeoutAsync", idiom.TimeoutCompleted, IdiomBenchmarks.Ops),
            new Pair("root RunAsync of an empty body", "new CTS + Dispose", () => Repeat(RootOps, () => { root.NewCts(); return Task.CompletedTask; }), "await rt.RunAsync", () => Repeat(RootOps, root.RootRun), RootOps),
        };
        Console.WriteLine($"Interleaved rounds: {rounds} per side; load average at start: {LoadAverage()}");
        Console.WriteLine("| idiom | baseline | per op | project | per op | ratio (median of rounds) | B/op baseline | B/op project |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var p in pairs)
        {
            await p.Baseline(); // warm up both
            await p.Project();
            var ratios = new double[rounds];
            var tb = new double[rounds];
            var tp = new double[rounds];
            long ab = 0, ap = 0;
            for (int r = 0; r < rounds; r++)
            {
                (tb[r], long a1) = await Measure(p.Baseline);
                (tp[r], long a2) = await Measure(p.Project);
                ab += a1;
                ap += a2;
                ratios[r] = tp[r] / tb[r];
            }
            Array.Sort(ratios);
            Array.Sort(tb);
            Array.Sort(tp);
            double n = p.OpsPerRound;
            Console.WriteLine($"| {p.Idiom} | {p.BaselineName} | {Ns(tb[rounds / 2] / n)} | {p.ProjectName} | {Ns(tp[rounds / 2] / n)} | **{ratios[rounds / 2]:F1}×** (IQR {ratios[rounds / 4]:F1}–{ratios[3 * rounds / 4]:F1}) | {ab / (rounds * n):F0} | {ap / (rounds * n):F0} |");
        }
        Console.WriteLine($"Load average at end: {LoadAverage()}");
        idiom.Cleanup();
        root.Cleanup();
        return 0;
    }

    private static async Task Repeat(int n, Func<Task> op)
    {
        for (int i = 0; i < n; i++) await op();
    }

    private static async Task<(double Seconds, long Bytes)> Measure(Func<Task> op)
    {
        long a0 = GC.GetTotalAllocatedBytes(precise: true);
        long t0 = Stopwatch.GetTimestamp();
        await op();
        double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        return (s, GC.GetTotalAllocatedBytes(precise: true) - a0);
    }

    private static string Ns(double seconds) => seconds >= 1e-6 ? $"{seconds * 1e6:F2} µs" : $"{seconds * 1e9:F0} ns";

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }
}
