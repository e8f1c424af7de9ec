using System.Threading.Channels;
using Asupersync.Channels;
using ChannelClosedException = Asupersync.Channels.ChannelClosedException;
using Channel = System.Threading.Channels.Channel;
using BenchmarkDotNet.Attributes;

namespace Asupersync.Benchmarks;

/// <summary>Bounded mpsc throughput, SPSC and 4-producer MPSC, vs System.Threading.Channels' bounded channel.</summary>
[MemoryDiagnoser]
public class BoundedMpscBenchmarks
{
    [Params(100_000)]
    public int N { get; set; }

    [Params(1, 4)]
    public int Producers { get; set; }

    private const int Capacity = 64;
    private Runtime _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = Runtime.Create();

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    [Benchmark(Baseline = true, Description = "System.Threading.Channels bounded")]
    public async Task<long> SystemChannels()
    {
        var ch = Channel.CreateBounded<int>(new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = Producers == 1 });
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

    [Benchmark(Description = "Asupersync Mpsc.Bounded (SendAsync / ReceiveAsync)")]
    public async Task<long> AsupersyncMpsc()
    {
        int producers = Producers, per = N / Producers;
        var o = await _rt.RunAsync(async cx =>
        {
            var (tx, rx) = Mpsc.Bounded<int>(Capacity);
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

    [Benchmark(Description = "Asupersync Mpsc.Bounded (ReserveAsync + permit.Send)")]
    public async Task<long> AsupersyncMpscTwoPhase()
    {
        int producers = Producers, per = N / Producers;
        var o = await _rt.RunAsync(async cx =>
        {
            var (tx, rx) = Mpsc.Bounded<int>(Capacity);
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
                        for (int i = 0; i < per; i++) (await tx.ReserveAsync(cx)).Send(i);
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
