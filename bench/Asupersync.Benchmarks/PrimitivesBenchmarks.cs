using Asupersync.Sync;
using BenchmarkDotNet.Attributes;

namespace Asupersync.Benchmarks;

/// <summary>JoinSet (spawn N, read them back in completion order) vs Task.Run + Task.WhenEach.</summary>
[MemoryDiagnoser]
public class JoinSetBenchmarks
{
    [Params(10_000)]
    public int N { get; set; }

    private Runtime _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = Runtime.Create();

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    [Benchmark(Baseline = true, Description = "Task.Run x N + await foreach Task.WhenEach")]
    public async Task<long> TaskWhenEach()
    {
        var tasks = new Task<int>[N];
        for (int i = 0; i < tasks.Length; i++) tasks[i] = Task.Run(static () => 1);
        long sum = 0;
        await foreach (var t in Task.WhenEach(tasks)) sum += t.Result;
        return sum;
    }

    [Benchmark(Description = "JoinSet.Spawn x N + NextCompletedAsync until null")]
    public async Task<long> JoinSetNextCompleted()
    {
        int n = N;
        var o = await _rt.RunAsync(async cx =>
        {
            await using var set = new JoinSet<int>(cx);
            for (int i = 0; i < n; i++) set.Spawn("t", static cx => Task.FromResult(1));
            long sum = 0;
            while (await set.NextCompletedAsync(cx) is { } done) sum += done.Outcome.Value;
            return sum;
        });
        return o.Value;
    }
}
