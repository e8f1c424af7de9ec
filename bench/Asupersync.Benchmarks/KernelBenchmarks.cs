using BenchmarkDotNet.Attributes;

namespace Asupersync.Benchmarks;

/// <summary>Spawn + join of many trivial tasks in one region vs Task.Run + Task.WhenAll.</summary>
[MemoryDiagnoser]
public class SpawnJoinBenchmarks
{
    [Params(1_000_000)]
    public int N { get; set; }

    private Runtime _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = Runtime.Create();

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    [Benchmark(Baseline = true, Description = "Task.Run + Task.WhenAll")]
    public async Task<int> TaskRunWhenAll()
    {
        var tasks = new Task<int>[N];
        for (int i = 0; i < tasks.Length; i++) tasks[i] = Task.Run(static () => 1);
        var results = await Task.WhenAll(tasks);
        return results.Length;
    }

    [Benchmark(Description = "cx.Spawn x N, region close joins")]
    public async Task<bool> SpawnRegionJoin()
    {
        int n = N;
        var o = await _rt.RunAsync(cx => cx.RegionAsync("bench", cx =>
        {
            for (int i = 0; i < n; i++) cx.Spawn("t", static cx => Task.FromResult(1));
            return Task.CompletedTask;
        }));
        return o.IsOk;
    }

    [Benchmark(Description = "cx.Spawn x N, JoinAsync each handle")]
    public async Task<long> SpawnJoinHandles()
    {
        int n = N;
        var o = await _rt.RunAsync(async cx =>
        {
            var hs = new TaskHandle<int>[n];
            for (int i = 0; i < n; i++) hs[i] = cx.Spawn("t", static cx => Task.FromResult(1));
            long sum = 0;
            foreach (var h in hs) sum += (await h.JoinAsync(cx)).Value;
            return sum;
        });
        return o.Value;
    }
}

/// <summary>Cancelling 100k waiting tasks until all are finalized vs a CancellationTokenSource with 100k registered awaiters.</summary>
[MemoryDiagnoser]
public class CancelManyBenchmarks
{
    [Params(100_000)]
    public int N { get; set; }

    private Runtime _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = Runtime.Create();

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    [Benchmark(Baseline = true, Description = "CTS.Cancel, N awaiters (start, cancel, all done)")]
    public async Task<int> CancellationTokenSourceAwaiters()
    {
        using var cts = new CancellationTokenSource();
        var tasks = new Task[N];
        int finalized = 0;
        for (int i = 0; i < tasks.Length; i++) tasks[i] = Waiter(cts.Token);
        await cts.CancelAsync();
        await Task.WhenAll(tasks);
        return finalized;

        async Task Waiter(CancellationToken ct)
        {
            try { await Task.Delay(Timeout.Infinite, ct); }
            catch (OperationCanceledException) { }
            finally { Interlocked.Increment(ref finalized); }
        }
    }

    [Benchmark(Description = "region cancel, N sleeping tasks (start, cancel, all finalized)")]
    public async Task<int> RegionCancelWaiters()
    {
        int n = N;
        int finalized = 0;
        var o = await _rt.RunAsync(cx => cx.RegionAsync("bench", async cx =>
        {
            int waiting = 0;
            var allWaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            for (int i = 0; i < n; i++)
            {
                cx.Spawn("w", async cx =>
                {
                    try
                    {
                        var sleep = cx.SleepAsync(TimeSpan.FromHours(1));
                        if (Interlocked.Increment(ref waiting) == n) allWaiting.TrySetResult();
                        await sleep;
                    }
                    finally { Interlocked.Increment(ref finalized); }
                });
            }
            await cx.AwaitAsync(allWaiting.Task);
            cx.CancelRegion("bench");
        }));
        return o.Value.IsCancelled ? finalized : -1;
    }
}
