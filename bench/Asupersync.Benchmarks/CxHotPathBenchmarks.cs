using BenchmarkDotNet.Attributes;

namespace Asupersync.Benchmarks;

/// <summary>
/// The per-call cost of the Cx hot path (checkpoint, a zero sleep, reading the clock, spawning), measured inside
/// one task body so that the root run is amortized over <see cref="N"/> calls. The baseline is .NET's own
/// checkpoint, <c>CancellationToken.ThrowIfCancellationRequested()</c>, in the same body; "PollCancel" is the
/// kernel checkpoint without the ownership check, so <c>Checkpoint</c> against it isolates the check in one run.
/// Run it on two trees to compare before and after (docs/PERFORMANCE.md, "Cx ownership check").
/// </summary>
[MemoryDiagnoser]
public class CxHotPathBenchmarks
{
    private const int N = 1_000_000;
    private const int Spawns = 10_000;

    private Runtime _rt = null!;
    private CancellationTokenSource _cts = null!;

    [GlobalSetup]
    public void Setup()
    {
        _rt = Runtime.Create();
        _cts = new CancellationTokenSource();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rt.Dispose();
        _cts.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = N, Description = "token.ThrowIfCancellationRequested()")]
    public async Task<bool> TokenCheck()
    {
        var token = _cts.Token;
        var o = await _rt.RunAsync(cx =>
        {
            for (int i = 0; i < N; i++) token.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        });
        return o.IsOk;
    }

    [Benchmark(OperationsPerInvoke = N, Description = "cx.Checkpoint()")]
    public async Task<bool> Checkpoint()
    {
        var o = await _rt.RunAsync(cx =>
        {
            for (int i = 0; i < N; i++) cx.Checkpoint();
            return Task.CompletedTask;
        });
        return o.IsOk;
    }

    [Benchmark(OperationsPerInvoke = N, Description = "kernel PollCancel() (a checkpoint without the ownership check)")]
    public async Task<bool> PollCancelOnly()
    {
        var o = await _rt.RunAsync(cx =>
        {
            var t = cx.Task;
            for (int i = 0; i < N; i++)
            {
                if (t.PollCancel() is { } e) throw e;
            }
            return Task.CompletedTask;
        });
        return o.IsOk;
    }

    [Benchmark(OperationsPerInvoke = N, Description = "the ownership check alone (TaskCore.EnsureOwnStep)")]
    public async Task<bool> OwnershipCheckOnly()
    {
        var o = await _rt.RunAsync(cx =>
        {
            var t = cx.Task;
            for (int i = 0; i < N; i++) t.EnsureOwnStep();
            return Task.CompletedTask;
        });
        return o.IsOk;
    }

    [Benchmark(OperationsPerInvoke = N, Description = "await cx.SleepAsync(0)")]
    public async Task<bool> SleepZero()
    {
        var o = await _rt.RunAsync(async cx =>
        {
            for (int i = 0; i < N; i++) await cx.SleepAsync(TimeSpan.Zero);
        });
        return o.IsOk;
    }

    [Benchmark(OperationsPerInvoke = N, Description = "cx.Now")]
    public async Task<long> Now()
    {
        var o = await _rt.RunAsync(cx =>
        {
            long sum = 0;
            for (int i = 0; i < N; i++) sum += cx.Now.Ticks;
            return Task.FromResult(sum);
        });
        return o.Value;
    }

    [Benchmark(OperationsPerInvoke = Spawns, Description = "cx.Spawn (trivial task, region close joins)")]
    public async Task<bool> Spawn()
    {
        var o = await _rt.RunAsync(cx => cx.RegionAsync("bench", cx =>
        {
            for (int i = 0; i < Spawns; i++) cx.Spawn("t", static cx => Task.CompletedTask);
            return Task.CompletedTask;
        }));
        return o.IsOk;
    }
}
