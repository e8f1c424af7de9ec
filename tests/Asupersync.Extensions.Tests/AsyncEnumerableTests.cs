using System.Runtime.CompilerServices;

namespace Asupersync.Extensions.Tests;

public sealed class AsyncEnumerableTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private sealed class Source
    {
        public int Produced;
        public bool Disposed;
        public bool SawCancel;

        public async IAsyncEnumerable<int> Items([EnumeratorCancellation] CancellationToken token = default)
        {
            try
            {
                for (int i = 0; ; i++)
                {
                    try
                    {
                        await Task.Delay(i == 3 ? Timeout.Infinite : 1, token); // item 3 never comes: only the token ends the wait
                    }
                    catch (OperationCanceledException)
                    {
                        SawCancel = true;
                        throw;
                    }
                    Produced++;
                    yield return i;
                }
            }
            finally
            {
                Disposed = true;
            }
        }
    }

    [Fact]
    public async Task CancelWhileTheSourceWaits_StopsIt_AndDisposesIt_AfterEveryProducedItemWasDelivered()
    {
        var source = new Source();
        var seen = new List<int>();
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        var outcome = await rt.RunAsync(async cx =>
        {
            var consumer = cx.Spawn("consumer", async cx =>
            {
                await foreach (var x in source.Items().WithCx(cx)) seen.Add(x);
            });
            while (Volatile.Read(ref source.Produced) < 3) await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
            consumer.Cancel(message: "enough");
            var o = await consumer.JoinAsync(cx);
            Assert.True(o.IsCancelled, o.ToString());
        }).WaitAsync(HangGuard);
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal([0, 1, 2], seen);
        Assert.True(source.SawCancel);
        Assert.True(source.Disposed);
    }

    [Fact]
    public async Task CancelInTheLoopBody_RaisesBeforeTheNextItem_AndTheItemInHandIsKept()
    {
        var source = new Source();
        var seen = new List<int>();
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 1 });
        var outcome = await rt.RunAsync(async cx =>
        {
            var inner = await cx.RegionAsync("consume", async cx =>
            {
                await foreach (var x in source.Items().WithCx(cx))
                {
                    seen.Add(x);
                    if (x == 1) cx.CancelRegion("stop after 1"); // requested inside the body: the item is kept
                }
            });
            Assert.True(inner.IsCancelled, inner.ToString());
        }).WaitAsync(HangGuard);
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal([0, 1], seen);
        Assert.Equal(2, source.Produced); // not asked for item 2
        Assert.True(source.Disposed);
    }
}
