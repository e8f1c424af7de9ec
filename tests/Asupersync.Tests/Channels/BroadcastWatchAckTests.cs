using Asupersync.Channels;
using Asupersync.Tests.Sync;

namespace Asupersync.Tests.Channels;

public class BroadcastTests
{
    [Fact]
    public Task EveryReceiverSeesEveryValue() => Rt.Ok(async cx =>
    {
        var tx = Broadcast.Create<int>(8);
        var a = tx.Subscribe();
        var b = tx.Subscribe();
        for (int i = 0; i < 5; i++) tx.Send(i);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(new BroadcastMessage<int>(i, 0), await a.ReceiveAsync(cx));
            Assert.Equal(new BroadcastMessage<int>(i, 0), await b.ReceiveAsync(cx));
        }
    });

    [Fact]
    public Task LaggingReceiver_IsToldHowManyItMissed() => Rt.Ok(async cx =>
    {
        var tx = Broadcast.Create<int>(4);
        var slow = tx.Subscribe();
        for (int i = 0; i < 10; i++) tx.Send(i);
        var m = await slow.ReceiveAsync(cx);
        Assert.Equal(6, m.Value);
        Assert.Equal(6, m.Missed);
        Assert.Equal(new BroadcastMessage<int>(7, 0), await slow.ReceiveAsync(cx));
    });

    [Fact]
    public Task CancelledReceive_KeepsPosition_CloseEndsAfterDrain() => Rt.Ok(async cx =>
    {
        var tx = Broadcast.Create<string>(4);
        var rx = tx.Subscribe();
        var h = cx.Spawn("r", async cx => await rx.ReceiveAsync(cx));
        await cx.SleepAsync(TimeSpan.FromMilliseconds(2));
        h.Cancel();
        Assert.True((await h.JoinAsync(cx)).IsCancelled);
        tx.Send("x");
        tx.Dispose();
        tx.Dispose();
        Assert.Equal("x", (await rx.ReceiveAsync(cx)).Value);
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await rx.ReceiveAsync(cx));
    });
}

public class WatchTests
{
    [Fact]
    public Task Changed_ReportsNewestValue_AndBorrowReadsIt() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Watch.Create(0);
        Assert.False(rx.HasChanged);
        var waiter = cx.Spawn("w", async cx => { await rx.ChangedAsync(cx); return rx.Borrow(); });
        await cx.SleepAsync(TimeSpan.FromMilliseconds(2));
        tx.Send(1);
        Assert.True((await waiter.JoinAsync(cx)).Value >= 1);
        tx.Send(2);
        tx.Send(3);
        await rx.ChangedAsync(cx); // coalesced: one change, newest value
        Assert.Equal(3, rx.BorrowAndUpdate());
        Assert.False(rx.HasChanged);
        tx.Close();
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await rx.ChangedAsync(cx));
    });
}

public class AckChannelTests
{
    [Fact]
    public Task AckedItem_IsDone_NackedItem_IsRedeliveredFirst() => Rt.Ok(async cx =>
    {
        var (tx, rx) = AckChannel.Create<int>(4);
        await tx.SendAsync(cx, 1);
        await tx.SendAsync(cx, 2);
        var d1 = await rx.ReceiveAsync(cx);
        Assert.Equal(1, d1.Value);
        d1.Nack("try later");
        var again = await rx.ReceiveAsync(cx);
        Assert.Equal(1, again.Value);
        again.Ack();
        using (var d2 = await rx.ReceiveAsync(cx))
        {
            Assert.Equal(2, d2.Value);
            d2.Ack();
        }
        Assert.False(rx.TryReceive(cx, out _));
    });

    [Fact]
    public Task DeliveryHeldByCancelledTask_IsRedelivered() => Rt.Ok(async cx =>
    {
        var (tx, rx) = AckChannel.Create<string>(2);
        await tx.SendAsync(cx, "job");
        bool got = false;
        var worker = cx.Spawn("worker", async cx =>
        {
            var d = await rx.ReceiveAsync(cx);
            got = true;
            await Rt.Forever(cx); // crashes/cancels before acking
            d.Ack();
        });
        await Rt.Until(cx, () => Volatile.Read(ref got));
        worker.Cancel();
        Assert.True((await worker.JoinAsync(cx)).IsCancelled);
        using var redelivered = await rx.ReceiveAsync(cx);
        Assert.Equal("job", redelivered.Value);
        redelivered.Ack();
    });

    [Fact]
    public Task UnackedDelivery_HoldsItsSlot_AndDelaysTheEnd() => Rt.Ok(async cx =>
    {
        var (tx, rx) = AckChannel.Create<int>(1);
        await tx.SendAsync(cx, 1);
        var d = await rx.ReceiveAsync(cx);
        Assert.False(tx.TrySend(2)); // capacity counts the unacknowledged delivery
        tx.Complete();
        var reader = cx.Spawn("reader", async cx =>
        {
            using var again = await rx.ReceiveAsync(cx);
            again.Ack();
            return again.Value;
        });
        await cx.SleepAsync(TimeSpan.FromMilliseconds(2));
        Assert.False(reader.IsCompleted); // not "ended": the pending delivery may come back
        d.Dispose(); // nack by disposal
        Assert.Equal(1, (await reader.JoinAsync(cx)).Value);
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await rx.ReceiveAsync(cx));
    });
}
