using System.Threading.Channels;
using Asupersync.Channels;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Channel = System.Threading.Channels.Channel;
using ChannelClosedException = Asupersync.Channels.ChannelClosedException;

namespace Asupersync.Benchmarks;

/// <summary>
/// The idioms of issue 11, each against the .NET code a user would otherwise write, doing the same work in the
/// same run. Every idiom runs <see cref="N"/> times inside one root task so that the root run is amortized
/// (<c>OperationsPerInvoke</c>): the figures are per idiom. The baselines run the same loop inside the same kind
/// of root task, so both sides pay the same (amortized) harness.
/// </summary>
/// <remarks>
/// Kindness of the baselines: <c>Task.WhenAny</c> of two completed tasks does no work for its loser (nothing to
/// cancel or drain), where a race must cancel and drain it; <c>RaceOfTaskRunPairs</c> in
/// <see cref="RaceBenchmarks"/> is the harsher baseline (two thread-pool tasks). Both are kept.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class IdiomBenchmarks
{
    internal const int Ops = 10_000;
    private const int N = Ops;

    private Runtime _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = Runtime.Create();

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    // ---------------------------------------------------------------- race of two completed branches

    [BenchmarkCategory("race")]
    [Benchmark(Baseline = true, OperationsPerInvoke = N, Description = "race, completed: Task.WhenAny(FromResult, FromResult)")]
    public async Task<long> WhenAnyCompleted()
    {
        var o = await _rt.RunAsync(static async cx =>
        {
            long sum = 0;
            for (int i = 0; i < N; i++) sum += (await Task.WhenAny(Task.FromResult(1), Task.FromResult(2))).Result;
            return sum;
        });
        return o.Value;
    }

    [BenchmarkCategory("race")]
    [Benchmark(OperationsPerInvoke = N, Description = "race, completed: cx.RaceAsync(two completed branches)")]
    public async Task<long> RaceCompleted()
    {
        var o = await _rt.RunAsync(static async cx =>
        {
            long sum = 0;
            for (int i = 0; i < N; i++) sum += (await cx.RaceAsync(static cx => Task.FromResult(1), static cx => Task.FromResult(2))).Value;
            return sum;
        });
        return o.Value;
    }

    // ---------------------------------------------------------------- child region open + close, empty body

    [BenchmarkCategory("region")]
    [Benchmark(Baseline = true, OperationsPerInvoke = N, Description = "region: linked CTS create + dispose")]
    public async Task<int> LinkedCts()
    {
        using var parent = new CancellationTokenSource();
        var token = parent.Token;
        var o = await _rt.RunAsync(cx =>
        {
            int n = 0;
            for (int i = 0; i < N; i++)
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(token);
                n += linked.IsCancellationRequested ? 0 : 1;
            }
            return Task.FromResult(n);
        });
        return o.Value;
    }

    [BenchmarkCategory("region")]
    [Benchmark(OperationsPerInvoke = N, Description = "region: cx.RegionAsync(empty body)")]
    public async Task<int> RegionOpenClose()
    {
        var o = await _rt.RunAsync(static async cx =>
        {
            int n = 0;
            for (int i = 0; i < N; i++) n += (await cx.RegionAsync("r", static cx => Task.CompletedTask)).IsOk ? 1 : 0;
            return n;
        });
        return o.Value;
    }

    // ---------------------------------------------------------------- timeout around an operation that completes at once

    [BenchmarkCategory("timeout")]
    [Benchmark(Baseline = true, OperationsPerInvoke = N, Description = "timeout, completes at once: linked CTS + CancelAfter")]
    public async Task<long> CancelAfterLinked()
    {
        using var parent = new CancellationTokenSource();
        var token = parent.Token;
        var o = await _rt.RunAsync(async cx =>
        {
            long sum = 0;
            for (int i = 0; i < N; i++)
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(token);
                linked.CancelAfter(TimeSpan.FromSeconds(10));
                sum += await Op(linked.Token);
            }
            return sum;
        });
        return o.Value;

        static Task<int> Op(CancellationToken ct) => ct.IsCancellationRequested ? Task.FromCanceled<int>(ct) : Task.FromResult(1);
    }

    [BenchmarkCategory("timeout")]
    [Benchmark(OperationsPerInvoke = N, Description = "timeout, completes at once: cx.TimeoutAsync")]
    public async Task<long> TimeoutCompleted()
    {
        var o = await _rt.RunAsync(static async cx =>
        {
            long sum = 0;
            for (int i = 0; i < N; i++) sum += (await cx.TimeoutAsync(TimeSpan.FromSeconds(10), static cx => Task.FromResult(1))).Value;
            return sum;
        });
        return o.Value;
    }
}

/// <summary>A root <c>Runtime.RunAsync</c> of an empty body vs creating and disposing a CancellationTokenSource.</summary>
[MemoryDiagnoser]
public class RootRunBenchmarks
{
    private Runtime _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = Runtime.Create();

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    [Benchmark(Baseline = true, Description = "new CancellationTokenSource + Dispose")]
    public bool NewCts()
    {
        using var cts = new CancellationTokenSource();
        return cts.IsCancellationRequested;
    }

    [Benchmark(Description = "await rt.RunAsync(empty body)")]
    public async Task<bool> RootRun() => (await _rt.RunAsync(static cx => Task.CompletedTask)).IsOk;
}

/// <summary>Spawning N tasks that yield once, joined by the region's close, vs async methods awaiting Task.Yield + WhenAll.</summary>
[MemoryDiagnoser]
public class SpawnYieldBenchmarks
{
    [Params(1_000_000)]
    public int N { get; set; }

    private Runtime _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = Runtime.Create();

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    [Benchmark(Baseline = true, Description = "async { await Task.Yield(); } x N + Task.WhenAll")]
    public async Task<int> TaskYield()
    {
        var tasks = new Task[N];
        for (int i = 0; i < tasks.Length; i++) tasks[i] = YieldOnce();
        await Task.WhenAll(tasks);
        return tasks.Length;

        static async Task YieldOnce() => await Task.Yield();
    }

    [Benchmark(Description = "cx.Spawn(await cx.YieldAsync()) x N, region close joins")]
    public async Task<bool> SpawnYield()
    {
        int n = N;
        var o = await _rt.RunAsync(cx => cx.RegionAsync("bench", cx =>
        {
            for (int i = 0; i < n; i++) cx.Spawn("t", static async cx => await cx.YieldAsync());
            return Task.CompletedTask;
        }));
        return o.IsOk;
    }
}

/// <summary>Unbounded mpsc, 1 and 4 producers, one consumer, vs System.Threading.Channels' unbounded channel.</summary>
[MemoryDiagnoser]
public class UnboundedMpscBenchmarks
{
    [Params(100_000)]
    public int N { get; set; }

    [Params(1, 4)]
    public int Producers { get; set; }

    private Runtime _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = Runtime.Create();

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    [Benchmark(Baseline = true, Description = "System.Threading.Channels unbounded")]
    public async Task<long> SystemChannels()
    {
        var ch = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = Producers == 1 });
        int per = N / Producers;
        var producers = new Task[Producers];
        for (int p = 0; p < Producers; p++)
        {
            producers[p] = Task.Run(async () =>
            {
                for (int i = 0; i < per; i++) await ch.Writer.WriteAsync(i);
            });
        }
        var all = Task.WhenAll(producers).ContinueWith(_ => ch.Writer.Complete(), TaskScheduler.Default);
        long sum = 0;
        await foreach (var v in ch.Reader.ReadAllAsync()) sum += v;
        await all;
        return sum;
    }

    [Benchmark(Description = "Asupersync Mpsc.Unbounded (SendAsync / ReceiveAsync)")]
    public async Task<long> AsupersyncMpsc()
    {
        int producers = Producers, per = N / Producers;
        var o = await _rt.RunAsync(async cx =>
        {
            var (tx, rx) = Mpsc.Unbounded<int>();
            var consumer = cx.Spawn("consumer", async cx =>
            {
                long sum = 0;
                while (true)
                {
                    try { sum += await rx.ReceiveAsync(cx); }
                    catch (ChannelClosedException) { return sum; }
                }
            });
            await cx.RegionAsync("producers", cx =>
            {
                for (int p = 0; p < producers; p++)
                {
                    cx.Spawn("producer", async cx =>
                    {
                        for (int i = 0; i < per; i++) await tx.SendAsync(cx, i);
                    });
                }
                return Task.CompletedTask;
            });
            tx.Complete();
            return (await consumer.JoinAsync(cx)).Value;
        });
        return o.Value;
    }
}
