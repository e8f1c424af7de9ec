using Asupersync.Channels;
using Asupersync.Tests.Sync;

namespace Asupersync.Tests.Channels;

public class OneshotTests
{
    [Fact]
    public Task TwoPhaseSend_Delivers() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Oneshot.Create<int>();
        var recv = cx.Spawn("recv", async cx => await rx.ReceiveAsync(cx));
        using (var p = tx.Reserve(cx))
        {
            Assert.Throws<InvalidOperationException>(() => tx.Reserve(cx));
            p.Send(5);
        }
        Assert.Equal(5, (await recv.JoinAsync(cx)).Value);
    });

    [Fact]
    public Task AbortedPermit_LetsTheSenderRetry() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Oneshot.Create<string>();
        tx.Reserve(cx).Dispose();
        Assert.False(rx.HasValue);
        Assert.True(tx.TrySend("second try"));
        Assert.False(tx.TrySend("third"));
        Assert.Equal("second try", await rx.ReceiveAsync(cx));
    });

    [Fact]
    public Task SenderCancelledWhileHoldingPermit_ReceiverSeesClosed() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Oneshot.Create<int>();
        bool reserved = false;
        var producer = cx.Spawn("producer", async cx =>
        {
            using (tx)
            {
                var p = tx.Reserve(cx);
                reserved = true;
                await Rt.Forever(cx);
                p.Send(1);
            }
        });
        await Rt.Until(cx, () => Volatile.Read(ref reserved));
        producer.Cancel();
        Assert.True((await producer.JoinAsync(cx)).IsCancelled);
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await rx.ReceiveAsync(cx));
    });

    [Fact]
    public Task CancelledReceive_KeepsTheValueForTheNextReceive() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Oneshot.Create<int>();
        var r1 = cx.Spawn("r1", async cx => await rx.ReceiveAsync(cx));
        await Rt.Until(cx, () => rx.Core.WaitingReceivers == 1);
        r1.Cancel();
        Assert.True((await r1.JoinAsync(cx)).IsCancelled);
        Assert.True(tx.TrySend(9));
        Assert.Equal(9, await rx.ReceiveAsync(cx));
    });

    [Fact]
    public Task ClosedReceiver_DropsSend_AndSenderSeesIt() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Oneshot.Create<int>();
        rx.Dispose();
        rx.Dispose();
        Assert.True(tx.IsClosed);
        Assert.False(tx.TrySend(1));
        Assert.Throws<ChannelClosedException>(() => tx.Reserve(cx));
        await Task.CompletedTask;
    });
}
