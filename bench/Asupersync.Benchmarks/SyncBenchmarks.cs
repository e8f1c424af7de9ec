using Asupersync.Sync;
using BenchmarkDotNet.Attributes;

namespace Asupersync.Benchmarks;

/// <summary>AsyncMutex and AsyncSemaphore, uncontended and contended (4 tasks), vs SemaphoreSlim.</summary>
[MemoryDiagnoser]
public class MutexSemaphoreBenchmarks
{
    [Params(100_000)]
    public int N { get; set; }

    [Params(1, 4)]
    public int Contenders { get; set; }

    private Runtime _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = Runtime.Create();

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    [Benchmark(Baseline = true, Description = "SemaphoreSlim(1) WaitAsync/Release")]
    public async Task<long> SemaphoreSlimLock()
    {
        var s = new SemaphoreSlim(1);
        long counter = 0;
        int per = N / Contenders;
        var tasks = new Task[Contenders];
        for (int t = 0; t < Contenders; t++)
        {
            tasks[t] = Task.Run(async () =>
            {
                for (int i = 0; i < per; i++)
                {
                    await s.WaitAsync();
                    counter++;
                    s.Release();
                }
            });
        }
        await Task.WhenAll(tasks);
        return counter;
    }

    [Benchmark(Description = "Asupersync AsyncMutex LockAsync/Dispose")]
    public async Task<long> AsupersyncMutex()
    {
        int contenders = Contenders, per = N / Contenders;
        var o = await _rt.RunAsync(async cx =>
        {
            var m = new AsyncMutex();
            long counter = 0;
            await cx.RegionAsync("contenders", cx =>
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
            return counter;
        });
        return o.Value;
    }

    [Benchmark(Description = "Asupersync AsyncSemaphore(1) AcquireAsync/Release (obligation)")]
    public async Task<long> AsupersyncSemaphore()
    {
        int contenders = Contenders, per = N / Contenders;
        var o = await _rt.RunAsync(async cx =>
        {
            var s = new AsyncSemaphore(1);
            long counter = 0;
            await cx.RegionAsync("contenders", cx =>
            {
                for (int t = 0; t < contenders; t++)
                {
                    cx.Spawn("c", async cx =>
                    {
                        for (int i = 0; i < per; i++)
                        {
                            var p = await s.AcquireAsync(cx);
                            counter++;
                            p.Release();
                        }
                    });
                }
                return Task.CompletedTask;
            });
            return counter;
        });
        return o.Value;
    }
}

/// <summary>Overhead of a race of two ready branches (spawn both, cancel/drain the loser, close the region).</summary>
[MemoryDiagnoser]
public class RaceBenchmarks
{
    [Params(10_000)]
    public int N { get; set; }

    private Runtime _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = Runtime.Create();

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    [Benchmark(Baseline = true, Description = "Task.WhenAny of two Task.Run")]
    public async Task<long> WhenAny()
    {
        long sum = 0;
        for (int i = 0; i < N; i++)
        {
            var a = Task.Run(static () => 1);
            var b = Task.Run(static () => 2);
            sum += (await Task.WhenAny(a, b)).Result;
            await Task.WhenAll(a, b); // like race: do not leave the loser running
        }
        return sum;
    }

    [Benchmark(Description = "cx.RaceAsync of two ready branches")]
    public async Task<long> Race()
    {
        int n = N;
        var o = await _rt.RunAsync(async cx =>
        {
            long sum = 0;
            for (int i = 0; i < n; i++) sum += (await cx.RaceAsync(static cx => Task.FromResult(1), static cx => Task.FromResult(2))).Value;
            return sum;
        });
        return o.Value;
    }
}
