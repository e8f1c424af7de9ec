namespace Asupersync.Tests.Sync;

using Asupersync.Sync;

public class RwLockTests
{
    [Fact]
    public Task Readers_Share_WriterExcludes() => Rt.Ok(async cx =>
    {
        var rw = new RwLock();
        var r1 = await rw.ReadAsync(cx);
        var r2 = await rw.ReadAsync(cx);
        Assert.Equal(2, rw.ReaderCount);
        Assert.False(rw.TryWrite(out _));
        r1.Dispose();
        r2.Dispose();
        r2.Dispose();
        using (var w = await rw.WriteAsync(cx))
        {
            Assert.True(w.IsWrite);
            Assert.False(rw.TryRead(out _));
        }
        Assert.True(rw.TryRead(out var r3));
        r3.Dispose();
    });

    [Fact]
    public Task WaitingWriter_BlocksNewReaders() => Rt.Ok(async cx =>
    {
        var rw = new RwLock();
        var r = await rw.ReadAsync(cx);
        var order = new List<string>();
        var writer = cx.Spawn("writer", async cx => { using (await rw.WriteAsync(cx)) order.Add("w"); });
        await Rt.Until(cx, () => rw.WaitingCount == 1);
        Assert.False(rw.TryRead(out _)); // writer preference
        var reader = cx.Spawn("reader", async cx => { using (await rw.ReadAsync(cx)) order.Add("r"); });
        await Rt.Until(cx, () => rw.WaitingCount == 2);
        r.Dispose();
        await writer.JoinAsync(cx);
        await reader.JoinAsync(cx);
        Assert.Equal(["w", "r"], order);
    });

    [Fact]
    public Task CancelledWriter_AtHead_LetsQueuedReadersIn() => Rt.Ok(async cx =>
    {
        var rw = new RwLock();
        var r = await rw.ReadAsync(cx);
        var writer = cx.Spawn("writer", async cx => { using (await rw.WriteAsync(cx)) { } });
        await Rt.Until(cx, () => rw.WaitingCount == 1);
        var reader = cx.Spawn("reader", async cx => { using (await rw.ReadAsync(cx)) { } });
        await Rt.Until(cx, () => rw.WaitingCount == 2);
        writer.Cancel();
        Assert.True((await writer.JoinAsync(cx)).IsCancelled);
        Assert.True((await reader.JoinAsync(cx)).IsOk); // admitted while our read lock is still held
        Assert.Equal(1, rw.ReaderCount);
        r.Dispose();
        Assert.True(rw.TryWrite(out var w));
        w.Dispose();
    });

    [Fact]
    public Task Stress_WritersExclusive_WithCancels() => Rt.Ok(async cx =>
    {
        var rw = new RwLock();
        int readers = 0, writers = 0, violations = 0;
        await cx.RegionAsync("stress", async cx =>
        {
            for (int t = 0; t < 4; t++)
            {
                bool isWriter = t % 2 == 0;
                _ = cx.Spawn($"t{t}", async cx =>
                {
                    for (int i = 0; i < 200; i++)
                    {
                        var h = cx.Spawn("op", async cx =>
                        {
                            using (isWriter ? await rw.WriteAsync(cx) : await rw.ReadAsync(cx))
                            {
                                // The cancel may land on the yield inside the section: leave in finally.
                                if (isWriter)
                                {
                                    if (Interlocked.Increment(ref writers) != 1 || Volatile.Read(ref readers) != 0) Interlocked.Increment(ref violations);
                                    try { await cx.YieldAsync(); }
                                    finally { Interlocked.Decrement(ref writers); }
                                }
                                else
                                {
                                    Interlocked.Increment(ref readers);
                                    if (Volatile.Read(ref writers) != 0) Interlocked.Increment(ref violations);
                                    try { await cx.YieldAsync(); }
                                    finally { Interlocked.Decrement(ref readers); }
                                }
                            }
                        });
                        if (i % 3 == 0) { await cx.YieldAsync(); h.Cancel(); }
                        await h.JoinAsync(cx);
                    }
                });
            }
            await Task.CompletedTask;
        });
        Assert.Equal(0, violations);
        Assert.Equal(0, rw.ReaderCount);
        Assert.False(rw.IsWriteLocked);
        Assert.Equal(0, rw.WaitingCount);
    });
}
