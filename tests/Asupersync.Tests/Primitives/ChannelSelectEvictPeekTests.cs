using Asupersync.Channels;
using Asupersync.Lab;
using Asupersync.Lab.Exploration;
using Asupersync.Tests.Sync;

namespace Asupersync.Tests.Primitives;

/// <summary>Channels: the evict-oldest ring, cancel-safe select over several receivers, and TryPeek.</summary>
public class ChannelSelectEvictPeekTests
{
    // AcceptErr: a select over channels that all ended is an Err (ChannelClosedException) by design in these programs.
    private static readonly LabOptions ErrIsExpected = new() { AcceptErr = true };
    private static readonly ExploreOptions Bounded = new() { MaxSchedules = 300, MaxWallTime = TimeSpan.FromSeconds(8), StopOnFirstFailure = true, Lab = ErrIsExpected };

    // ------------------------------------------------------------------ evict-oldest

    [Fact]
    public void EvictOldest_NeverBlocksTheSender_KeepsTheNewest_CountsEvictions() => LabTest.ForSeeds(10, async cx =>
    {
        var (tx, rx) = Mpsc.EvictOldest<int>(3);
        for (int i = 0; i < 10; i++) await tx.SendAsync(cx, i); // would wait forever on a plain bounded channel
        Assert.True(tx.TrySend(10));
        Assert.Equal(3, rx.Count);
        Assert.Equal(8, rx.EvictedCount);
        var got = new List<int>();
        for (int i = 0; i < 3; i++) got.Add(await rx.ReceiveAsync(cx));
        Assert.Equal([8, 9, 10], got);
        Assert.Equal(3, tx.Capacity);
        tx.Dispose();
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await rx.ReceiveAsync(cx));
    });

    [Fact]
    public void EvictOldest_PermitsAreGrantedAtOnce_AndTheirSendEvicts() => LabTest.ForSeeds(10, async cx =>
    {
        var (tx, rx) = Mpsc.EvictOldest<int>(1);
        using var p1 = await tx.ReserveAsync(cx);
        using var p2 = await tx.ReserveAsync(cx); // a bounded(1) channel would make this wait
        p1.Send(1);
        p2.Send(2);
        Assert.Equal(1, rx.EvictedCount);
        Assert.Equal(2, await rx.ReceiveAsync(cx));
    });

    [Fact]
    public void EvictOldest_AWaitingReceiverGetsItemsDirectly_NoEviction() => LabTest.ForSeeds(30, async cx =>
    {
        var (tx, rx) = Mpsc.EvictOldest<int>(1);
        var got = new List<int>();
        var reader = cx.Spawn("reader", async cx =>
        {
            for (int i = 0; i < 5; i++) got.Add(await rx.ReceiveAsync(cx));
        });
        for (int i = 0; i < 5; i++)
        {
            await Rt.Until(cx, () => rx.Count == 0 && reader.Core.HasRegisteredWait || reader.IsCompleted);
            tx.TrySend(i);
        }
        await reader.JoinAsync(cx);
        Assert.Equal([0, 1, 2, 3, 4], got);
        Assert.Equal(0, rx.EvictedCount);
    });

    private static async Task EvictWithCancelledReceives(Cx cx)
    {
        // Whatever the interleaving: every item sent is either received exactly once or counted as evicted.
        var (tx, rx) = Mpsc.EvictOldest<int>(2);
        var got = new List<int>();
        var reader = cx.Spawn("reader", async cx =>
        {
            while (true)
            {
                try { got.Add(await rx.ReceiveAsync(cx)); }
                catch (ChannelClosedException) { return; }
            }
        });
        var victim = cx.Spawn("victim", async cx => { got.Add(await rx.ReceiveAsync(cx)); });
        var writer = cx.Spawn("writer", async cx =>
        {
            for (int i = 0; i < 6; i++)
            {
                tx.TrySend(i);
                await cx.YieldAsync();
            }
        });
        await cx.YieldAsync();
        victim.Cancel();
        await writer.JoinAsync(cx);
        await victim.JoinAsync(cx);
        tx.Dispose();
        await reader.JoinAsync(cx);
        Assert.Equal(got.Count, got.Distinct().Count());
        Assert.Equal(6, got.Count + rx.EvictedCount);
    }

    [Fact]
    public void EvictOldest_CancelledReceives_EveryItemReceivedOnceOrCountedEvicted_Seeds() => LabTest.ForSeeds(200, EvictWithCancelledReceives);

    [Fact]
    public void EvictOldest_CancelledReceives_EveryItemReceivedOnceOrCountedEvicted_Explored() => LabTest.Explore(EvictWithCancelledReceives, Bounded);

    // ------------------------------------------------------------------ TryPeek

    [Fact]
    public void TryPeek_ShowsTheFrontWithoutTakingIt() => LabTest.ForSeeds(5, async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<string>(4);
        Assert.False(rx.TryPeek(out _));
        tx.TrySend("a");
        tx.TrySend("b");
        Assert.True(rx.TryPeek(out var front));
        Assert.Equal("a", front);
        Assert.True(rx.TryPeek(out front));
        Assert.Equal("a", front); // peeking twice takes nothing
        Assert.Equal(2, rx.Count);
        Assert.Equal("a", await rx.ReceiveAsync(cx));
        Assert.True(rx.TryPeek(out front));
        Assert.Equal("b", front);
    });

    [Fact]
    public void TryPeek_DoesNotFreeASlot() => LabTest.ForSeeds(5, cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(1);
        Assert.True(tx.TrySend(1));
        Assert.True(rx.TryPeek(out _));
        Assert.False(tx.TrySend(2)); // still full
        Assert.True(rx.TryReceive(out _));
        Assert.True(tx.TrySend(2));
        return Task.CompletedTask;
    });

    // ------------------------------------------------------------------ select

    [Fact]
    public void Select_TakesFromTheReadyChannel_BiasedToArgumentOrder() => LabTest.ForSeeds(10, async cx =>
    {
        var (txA, rxA) = Mpsc.Bounded<string>(4);
        var (txB, rxB) = Mpsc.Bounded<string>(4);
        txB.TrySend("b1");
        Assert.Equal((1, "b1"), await Select.ReceiveAsync(cx, rxA, rxB));
        txA.TrySend("a1");
        txB.TrySend("b2");
        Assert.Equal((0, "a1"), await Select.ReceiveAsync(cx, rxA, rxB)); // both ready: the first wins
        Assert.Equal((1, "b2"), await Select.ReceiveAsync(cx, rxA, rxB));
        // Waiting: the first channel that gets an item wins.
        var sel = cx.Spawn("select", cx => Select.ReceiveAsync(cx, rxA, rxB).AsTask());
        await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
        txB.TrySend("late b");
        Assert.Equal((1, "late b"), (await sel.JoinAsync(cx)).Value);
        Assert.Equal(0, rxA.Count + rxB.Count);
    });

    [Fact]
    public void Select_EndedChannelsDropOut_AndAllEndedThrows() => LabTest.ForSeeds(10, SelectEndedChannels, ErrIsExpected);

    private static async Task SelectEndedChannels(Cx cx)
    {
        var (txA, rxA) = Mpsc.Bounded<int>(4);
        var (txB, rxB) = Mpsc.Bounded<int>(4);
        txA.TrySend(1);
        txA.Dispose(); // completed, one item left
        Assert.Equal((0, 1), await Select.ReceiveAsync(cx, rxA, rxB));
        var sel = cx.Spawn("select", cx => Select.ReceiveAsync(cx, rxA, rxB).AsTask()); // A ended: waits on B alone
        await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
        Assert.False(sel.IsCompleted);
        txB.TrySend(2);
        Assert.Equal((1, 2), (await sel.JoinAsync(cx)).Value);
        txB.Complete(new InvalidOperationException("upstream failed"));
        var e = await Assert.ThrowsAsync<ChannelClosedException>(async () => await Select.ReceiveAsync(cx, rxA, rxB));
        Assert.Equal("upstream failed", e.InnerException?.Message);
        // A select that is waiting when the last channel ends is woken and told.
        var (txC, rxC) = Mpsc.Bounded<int>(1);
        var waiting = cx.Spawn("waiting", async cx => { await Select.ReceiveAsync(cx, rxC); });
        await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
        txC.Dispose();
        var ended = await waiting.JoinAsync(cx);
        Assert.IsType<ChannelClosedException>(ended.Error ?? ended.Exception);
    }

    private static async Task SelectCancelledAtAnyPoint(Cx cx)
    {
        // Two producers, a selecting consumer that gets cancelled, then a second consumer that drains the rest:
        // every item is received exactly once — none taken by the cancelled select and lost.
        var (txA, rxA) = Mpsc.Bounded<int>(2);
        var (txB, rxB) = Mpsc.Bounded<int>(2);
        var got = new List<int>();
        var pa = cx.Spawn("producer a", async cx => { using (txA) for (int i = 0; i < 3; i++) await txA.SendAsync(cx, i); });
        var pb = cx.Spawn("producer b", async cx => { using (txB) for (int i = 10; i < 13; i++) await txB.SendAsync(cx, i); });
        var first = cx.Spawn("selector", async cx =>
        {
            while (true) got.Add((await Select.ReceiveAsync(cx, rxA, rxB)).Item);
        });
        await cx.YieldAsync();
        first.Cancel();
        await first.JoinAsync(cx);
        while (true)
        {
            try { got.Add((await Select.ReceiveAsync(cx, rxA, rxB)).Item); }
            catch (ChannelClosedException) { break; }
        }
        await pa.JoinAsync(cx);
        await pb.JoinAsync(cx);
        Assert.Equal([0, 1, 2, 10, 11, 12], got.Order());
    }

    [Fact]
    public void Select_CancelledAtAnyPoint_LosesNoMessage_Seeds() => LabTest.ForSeeds(200, SelectCancelledAtAnyPoint, ErrIsExpected);

    [Fact]
    public void Select_CancelledAtAnyPoint_LosesNoMessage_Explored() => LabTest.Explore(SelectCancelledAtAnyPoint, Bounded);

    [Fact]
    public void Select_ParkedAndCancelled_LeavesNoWatcherBehind() => LabTest.ForSeeds(10, async cx =>
    {
        var (txA, rxA) = Mpsc.Bounded<int>(1);
        var (txB, rxB) = Mpsc.Bounded<int>(1);
        for (int round = 0; round < 50; round++)
        {
            var sel = cx.Spawn("select", cx => Select.ReceiveAsync(cx, rxA, rxB).AsTask());
            await Rt.UntilParked(cx, sel);
            sel.Cancel();
            Assert.True((await sel.JoinAsync(cx)).IsCancelled);
        }
        // Items sent after all those cancelled selects are all still there.
        txA.TrySend(1);
        txB.TrySend(2);
        Assert.Equal(1, rxA.Count);
        Assert.Equal(1, rxB.Count);
        Assert.Equal(0, rxA.Core.WatcherCount + rxB.Core.WatcherCount);
    });

    [Fact]
    public async Task Select_ProductionRuntime_ManyProducers_NothingLostOrDuplicated()
    {
        var o = await Rt.Run(async cx =>
        {
            const int PerProducer = 2000;
            var chans = Enumerable.Range(0, 3).Select(_ => Mpsc.Bounded<int>(8)).ToArray();
            for (int p = 0; p < chans.Length; p++)
            {
                var tx = chans[p].Sender;
                int basis = p * PerProducer;
                cx.Spawn("producer", async cx => { using (tx) for (int i = 0; i < PerProducer; i++) await tx.SendAsync(cx, basis + i); });
            }
            var receivers = chans.Select(c => c.Receiver).ToArray();
            var seen = new bool[chans.Length * PerProducer];
            int count = 0;
            // Consumers are cancelled mid-stream and replaced: nothing may be lost in the hand-over.
            while (true)
            {
                bool ended = false;
                var consumer = cx.Spawn("consumer", async cx =>
                {
                    try
                    {
                        for (int k = 0; k < 500; k++)
                        {
                            var (_, v) = await Select.ReceiveAsync(cx, receivers);
                            Assert.False(seen[v]);
                            seen[v] = true;
                            count++;
                        }
                    }
                    catch (ChannelClosedException) { ended = true; }
                });
                await cx.WaitStartedAsync(consumer);
                for (int y = 0; y < 4; y++) await cx.YieldAsync();
                consumer.Cancel();
                var co = await consumer.JoinAsync(cx);
                Assert.False(co.IsPanicked, co.ToString());
                if (ended) break;
            }
            Assert.Equal(seen.Length, count);
        });
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task Select_BadArguments_AreRejected()
    {
        var o = await Rt.Run(cx =>
        {
            Assert.Throws<ArgumentException>(() => { _ = Select.ReceiveAsync<int>(cx); });
            Assert.Throws<ArgumentException>(() => { _ = Select.ReceiveAsync<int>(cx, new Receiver<int>[] { null! }); });
            Assert.Throws<ArgumentNullException>(() => { _ = Select.ReceiveAsync<int>(cx, (Receiver<int>[])null!); });
            var (_, rx) = Mpsc.Bounded<int>(1);
            Assert.False(Select.TryReceive(out _, rx));
            return Task.CompletedTask;
        });
        Assert.True(o.IsOk, o.ToString());
    }
}
