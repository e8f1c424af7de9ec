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

/// <summary>
/// An evict-oldest ring that never blocks its sender: N sends into a 64-slot buffer (all but the last 64 evict), then
/// the survivors read out; vs System.Threading.Channels' bounded channel with <c>BoundedChannelFullMode.DropOldest</c>.
/// </summary>
[MemoryDiagnoser]
public class EvictOldestBenchmarks
{
    [Params(100_000)]
    public int N { get; set; }

    private const int Capacity = 64;

    [Benchmark(Baseline = true, Description = "Channel.CreateBounded DropOldest: TryWrite x N + TryRead")]
    public long SystemDropOldest()
    {
        var ch = System.Threading.Channels.Channel.CreateBounded<int>(new System.Threading.Channels.BoundedChannelOptions(Capacity)
        {
            FullMode = System.Threading.Channels.BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = true,
        });
        for (int i = 0; i < N; i++) ch.Writer.TryWrite(i);
        long sum = 0;
        while (ch.Reader.TryRead(out var v)) sum += v;
        return sum;
    }

    [Benchmark(Description = "Mpsc.EvictOldest: TrySend x N + TryReceive")]
    public long AsupersyncEvictOldest()
    {
        var (tx, rx) = Asupersync.Channels.Mpsc.EvictOldest<int>(Capacity);
        for (int i = 0; i < N; i++) tx.TrySend(i);
        long sum = 0;
        while (rx.TryReceive(out var v)) sum += v;
        return sum + rx.EvictedCount;
    }
}

/// <summary>
/// Receive N items from whichever of two bounded channels has one (a producer on each): <c>Select.ReceiveAsync</c> vs
/// the .NET idiom over two System.Threading.Channels readers (<c>TryRead</c> each, else
/// <c>Task.WhenAny(a.WaitToReadAsync(), b.WaitToReadAsync())</c>).
/// </summary>
[MemoryDiagnoser]
public class SelectBenchmarks
{
    [Params(100_000)]
    public int N { get; set; }

    private const int Capacity = 64;
    private Runtime _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = Runtime.Create();

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    [Benchmark(Baseline = true, Description = "2 Channels: TryRead, else Task.WhenAny(WaitToReadAsync x 2)")]
    public async Task<long> SystemWhenAny()
    {
        var a = System.Threading.Channels.Channel.CreateBounded<int>(new System.Threading.Channels.BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true });
        var b = System.Threading.Channels.Channel.CreateBounded<int>(new System.Threading.Channels.BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true });
        int half = N / 2;
        var pa = Task.Run(async () => { for (int i = 0; i < half; i++) await a.Writer.WriteAsync(i); });
        var pb = Task.Run(async () => { for (int i = 0; i < half; i++) await b.Writer.WriteAsync(i); });
        long sum = 0;
        for (int got = 0; got < 2 * half;)
        {
            if (a.Reader.TryRead(out var v) || b.Reader.TryRead(out v))
            {
                sum += v;
                got++;
                continue;
            }
            await Task.WhenAny(a.Reader.WaitToReadAsync().AsTask(), b.Reader.WaitToReadAsync().AsTask());
        }
        await Task.WhenAll(pa, pb);
        return sum;
    }

    [Benchmark(Description = "Select.ReceiveAsync over 2 Mpsc.Bounded")]
    public async Task<long> AsupersyncSelect()
    {
        int half = N / 2;
        var o = await _rt.RunAsync(async cx =>
        {
            var (ta, ra) = Asupersync.Channels.Mpsc.Bounded<int>(Capacity);
            var (tb, rb) = Asupersync.Channels.Mpsc.Bounded<int>(Capacity);
            var pa = cx.Spawn("a", async c => { for (int i = 0; i < half; i++) await ta.SendAsync(c, i); });
            var pb = cx.Spawn("b", async c => { for (int i = 0; i < half; i++) await tb.SendAsync(c, i); });
            long sum = 0;
            for (int got = 0; got < 2 * half; got++) sum += (await Asupersync.Channels.Select.ReceiveAsync(cx, ra, rb)).Item;
            await pa.JoinAsync(cx);
            await pb.JoinAsync(cx);
            return sum;
        });
        return o.Value;
    }
}
