using Asupersync.Channels;
using Asupersync.Tests.Sync;

namespace Asupersync.Tests.Channels;

public class MpscTests
{
    [Fact]
    public Task Bounded_DeliversInOrder_AndEndsAfterComplete() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(4);
        var producer = cx.Spawn("producer", async cx =>
        {
            using (tx)
                for (int i = 0; i < 200; i++) await tx.SendAsync(cx, i);
        });
        var got = new List<int>();
        await foreach (var i in rx.ReadAllAsync(cx)) got.Add(i);
        Assert.Equal(Enumerable.Range(0, 200), got);
        Assert.True((await producer.JoinAsync(cx)).IsOk);
    });

    [Fact]
    public Task Bounded_SendWaitsWhileFull() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(2);
        await tx.SendAsync(cx, 1);
        await tx.SendAsync(cx, 2);
        Assert.False(tx.TrySend(3));
        bool sent = false;
        var h = cx.Spawn("blocked", async cx => { await tx.SendAsync(cx, 3); sent = true; });
        await cx.SleepAsync(TimeSpan.FromMilliseconds(5));
        Assert.False(sent);
        Assert.Equal(1, await rx.ReceiveAsync(cx));
        await h.JoinAsync(cx);
        Assert.True(sent);
        Assert.Equal(2, await rx.ReceiveAsync(cx));
        Assert.Equal(3, await rx.ReceiveAsync(cx));
    });

    [Fact]
    public Task Bounded_CancelledSend_ReleasesItsSlot_AndSendsNothing() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(1);
        await tx.SendAsync(cx, 1);
        var waiting = cx.Spawn("waiting-sender", async cx => await tx.SendAsync(cx, 99));
        await Rt.Until(cx, () => tx.Core.Waiting.Senders == 1);
        waiting.Cancel();
        var o = await waiting.JoinAsync(cx);
        Assert.True(o.IsCancelled);
        Assert.Equal(1, await rx.ReceiveAsync(cx));
        // The slot the cancelled send waited for is free, and 99 never arrives.
        Assert.True(tx.TrySend(2));
        Assert.False(tx.TrySend(3));
        Assert.Equal(2, await rx.ReceiveAsync(cx));
        Assert.False(rx.TryReceive(out _));
    });

    [Fact]
    public Task CancelledReceive_LosesNoItem() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(4);
        var receiver = cx.Spawn("receiver", async cx => await rx.ReceiveAsync(cx));
        await Rt.Until(cx, () => rx.Core.Waiting.Receivers == 1);
        receiver.Cancel();
        Assert.True((await receiver.JoinAsync(cx)).IsCancelled);
        await tx.SendAsync(cx, 7);
        Assert.True(rx.TryReceive(out var v));
        Assert.Equal(7, v);
    });

    [Fact]
    public Task Permit_SendDelivers_DisposeFreesSlot() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<string>(1);
        var p = await tx.ReserveAsync(cx);
        Assert.False(tx.TrySend("x")); // the permit holds the only slot
        p.Dispose();
        p.Dispose(); // idempotent
        Assert.False(p.IsReserved);
        using (var p2 = await tx.ReserveAsync(cx)) p2.Send("hello");
        Assert.Equal("hello", await rx.ReceiveAsync(cx));
        Assert.True(tx.TrySend("again"));
    });

    [Fact]
    public Task Permit_HeldByCancelledTask_IsAborted_AndSlotFreed() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(1);
        bool reserved = false;
        var holder = cx.Spawn("holder", async cx =>
        {
            var permit = await tx.ReserveAsync(cx);
            reserved = true;
            await Rt.Forever(cx);
            permit.Send(1); // never reached
        });
        await Rt.Until(cx, () => Volatile.Read(ref reserved));
        Assert.False(tx.TrySend(0));
        holder.Cancel();
        Assert.True((await holder.JoinAsync(cx)).IsCancelled);
        Assert.True(tx.TrySend(5));
        Assert.Equal(5, await rx.ReceiveAsync(cx));
    });

    [Fact]
    public async Task Permit_LeakedByOkTask_IsReportedAndSlotFreed()
    {
        var (tx, rx) = Mpsc.Bounded<int>(1);
        var o = await Rt.Run(async cx =>
        {
            var inner = await cx.RegionAsync("leaky", async cx =>
            {
                _ = cx.Spawn("leaker", async cx => { _ = await tx.ReserveAsync(cx); });
                await Task.CompletedTask;
            });
            Assert.True(inner.IsErr);
            Assert.IsType<ObligationLeakedException>(inner.Error);
            Assert.True(tx.TrySend(1));
        });
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public Task Complete_WaitsForOutstandingPermit_ThenEnds() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(4);
        var p = await tx.ReserveAsync(cx);
        tx.Complete();
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await tx.SendAsync(cx, 1));
        var reader = cx.Spawn("reader", async cx =>
        {
            var all = new List<int>();
            await foreach (var i in rx.ReadAllAsync(cx)) all.Add(i);
            return all;
        });
        await cx.SleepAsync(TimeSpan.FromMilliseconds(3));
        Assert.False(reader.IsCompleted);
        p.Send(42);
        Assert.Equal([42], (await reader.JoinAsync(cx)).Value);
    });

    [Fact]
    public Task CompleteWithError_ReachesReceiver_CloseWithError_ReachesSender() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(4);
        await tx.SendAsync(cx, 1);
        var boom = new InvalidOperationException("upstream failed");
        tx.Complete(boom);
        Assert.False(tx.Complete());
        Assert.Equal(1, await rx.ReceiveAsync(cx));
        var e = await Assert.ThrowsAsync<ChannelClosedException>(async () => await rx.ReceiveAsync(cx));
        Assert.Same(boom, e.Error);

        var (tx2, rx2) = Mpsc.Bounded<int>(1);
        await tx2.SendAsync(cx, 1);
        var blocked = cx.Spawn("blocked", async cx =>
        {
            try { await tx2.SendAsync(cx, 2); return null; }
            catch (ChannelClosedException e) { return e; }
        });
        await cx.SleepAsync(TimeSpan.FromMilliseconds(2));
        var gone = new InvalidOperationException("consumer quit");
        rx2.Close(gone);
        rx2.Dispose();
        var e2 = (await blocked.JoinAsync(cx)).Value;
        Assert.Same(gone, e2!.Error);
        Assert.Throws<ChannelClosedException>(() => tx2.SendAsync(cx, 3).GetAwaiter().GetResult());
    });

    [Fact]
    public Task Senders_CompleteWhenLastCloneDisposed() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Unbounded<int>();
        var tx2 = tx.Clone();
        tx.Dispose();
        tx.Dispose();
        Assert.False(rx.IsCompleted);
        await tx2.SendAsync(cx, 1);
        tx2.Dispose();
        Assert.True(rx.IsCompleted);
        Assert.Equal(1, await rx.ReceiveAsync(cx));
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await rx.ReceiveAsync(cx));
    });

    [Fact]
    public Task Unbounded_NeverWaits() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Unbounded<int>();
        Assert.Null(tx.Capacity);
        for (int i = 0; i < 10_000; i++) Assert.True(tx.SendAsync(cx, i).IsCompletedSuccessfully);
        for (int i = 0; i < 10_000; i++) Assert.Equal(i, await rx.ReceiveAsync(cx));
    });

    [Fact]
    public Task Stress_CancelledSendsAndReceives_NothingLostNothingDuplicated_OrderKept() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(3);
        const int producers = 4, perProducer = 250;
        var sent = new List<int>();
        var received = new List<int>();
        var consumer = cx.Spawn("consumer", async cx =>
        {
            for (int round = 0; ; round++)
            {
                if (round % 2 == 0)
                {
                    // A receive in its own task, cancelled at a varying moment: it either took an item (and
                    // recorded it) or took nothing.
                    var h = cx.Spawn("recv", async cx =>
                    {
                        int v;
                        try { v = await rx.ReceiveAsync(cx); }
                        catch (ChannelClosedException) { return false; } // an Err here would fail the region fast
                        lock (received) received.Add(v);
                        return true;
                    });
                    if ((round & 2) == 0) await cx.YieldAsync();
                    h.Cancel();
                    var o = await h.JoinAsync(cx);
                    if (o.IsOk && !o.Value) break; // closed and drained
                }
                else
                {
                    int v;
                    try { v = await rx.ReceiveAsync(cx); }
                    catch (ChannelClosedException) { break; }
                    lock (received) received.Add(v);
                }
            }
        });
        await cx.RegionAsync("producers", async cx =>
        {
            for (int p = 0; p < producers; p++)
            {
                int pid = p;
                _ = cx.Spawn($"producer{p}", async cx =>
                {
                    for (int i = 0; i < perProducer; i++)
                    {
                        int item = pid * 100_000 + i;
                        if (i % 3 == 0)
                        {
                            var h = cx.Spawn("send", async cx =>
                            {
                                await tx.SendAsync(cx, item);
                                lock (sent) sent.Add(item);
                            });
                            if ((i & 4) == 0) await cx.YieldAsync();
                            h.Cancel();
                            await h.JoinAsync(cx);
                        }
                        else
                        {
                            await tx.SendAsync(cx, item);
                            lock (sent) sent.Add(item);
                        }
                    }
                });
            }
            await Task.CompletedTask;
        });
        tx.Complete();
        Assert.True((await consumer.JoinAsync(cx)).IsOk);
        Assert.Equal(sent.Order(), received.Order());
        foreach (var g in received.GroupBy(v => v / 100_000))
            Assert.Equal(g.Order(), g); // per-producer FIFO survives cancelled receives
    });
}
