using Asupersync.Channels;
using Asupersync.Lab;
using Asupersync.Lab.Exploration;

namespace Asupersync.Tests.Sync;

using Asupersync.Sync;

/// <summary>
/// Cancel-safety scenarios under the deterministic Lab: seed sweeps and bounded exploration, with every oracle
/// (ObligationLeak, LostWakeup, ChannelAtomicity, LoserDrain, TaskLeak, Quiescence…) active. A failure prints
/// its seed and a replay command.
/// </summary>
public class LabPrimitiveTests
{
    private static readonly ExploreOptions Bounded = new() { MaxSchedules = 400, MaxWallTime = TimeSpan.FromSeconds(8), StopOnFirstFailure = true };

    private static async Task MutexWithCancelledWaiter(Cx cx)
    {
        var m = new AsyncMutex();
        int inside = 0;
        async Task Critical(Cx cx)
        {
            using (await m.LockAsync(cx))
            {
                if (++inside != 1) throw new InvalidOperationException("two holders");
                try { await cx.YieldAsync(); } // the victim may be cancelled here, inside the section
                finally { inside--; }
            }
        }
        var a = cx.Spawn("a", Critical);
        var victim = cx.Spawn("victim", Critical);
        var b = cx.Spawn("b", Critical);
        await cx.YieldAsync();
        victim.Cancel();
        await a.JoinAsync(cx);
        await victim.JoinAsync(cx);
        Assert.True((await b.JoinAsync(cx)).IsOk);
        Assert.False(m.IsLocked);
        Assert.Equal(0, m.WaitingCount);
    }

    [Fact]
    public void Mutex_CancelAtAnyPoint_NoStolenOrLostLock_Seeds() => LabTest.ForSeeds(150, MutexWithCancelledWaiter);

    [Fact]
    public void Mutex_CancelAtAnyPoint_NoStolenOrLostLock_Explored() => LabTest.Explore(MutexWithCancelledWaiter, Bounded);

    private static async Task ChannelWithCancelledSendAndReceive(Cx cx)
    {
        var (tx, rx) = Mpsc.Bounded<int>(1);
        var sent = new List<int>();
        var received = new List<int>();
        var producer = cx.Spawn("producer", async cx =>
        {
            for (int i = 0; i < 3; i++)
            {
                int item = i;
                var s = cx.Spawn("send", async cx => { await tx.SendAsync(cx, item); sent.Add(item); });
                if (i == 1) s.Cancel();
                await s.JoinAsync(cx);
            }
            tx.Dispose();
        });
        var consumer = cx.Spawn("consumer", async cx =>
        {
            var r = cx.Spawn("recv", async cx => received.Add(await rx.ReceiveAsync(cx)));
            await cx.YieldAsync();
            r.Cancel();
            await r.JoinAsync(cx);
            while (true)
            {
                try { received.Add(await rx.ReceiveAsync(cx)); }
                catch (ChannelClosedException) { return; }
            }
        });
        await producer.JoinAsync(cx);
        await consumer.JoinAsync(cx);
        Assert.Equal(sent.Order(), received.Order()); // nothing lost, nothing invented, nothing twice
    }

    [Fact]
    public void Channel_CancelledSendAndReceive_NothingLost_Seeds() => LabTest.ForSeeds(150, ChannelWithCancelledSendAndReceive);

    [Fact]
    public void Channel_CancelledSendAndReceive_NothingLost_Explored() => LabTest.Explore(ChannelWithCancelledSendAndReceive, Bounded);

    private static async Task PermitHolderCancelled(Cx cx)
    {
        var (tx, rx) = Mpsc.Bounded<int>(1);
        var sem = new AsyncSemaphore(1);
        var holder = cx.Spawn("holder", async cx =>
        {
            using var p = await sem.AcquireAsync(cx);
            var permit = await tx.ReserveAsync(cx);
            await cx.YieldAsync();
            permit.Send(1);
        });
        await cx.YieldAsync();
        holder.Cancel();
        var o = await holder.JoinAsync(cx);
        // Either it sent before the cancel landed, or the permit was aborted: never a lost slot or permit.
        Assert.Equal(1, sem.Available);
        // (The holder's outcome does not say which: a send that happened before the cancel was seen still ends
        // Cancelled. The channel does.)
        _ = o;
        if (rx.TryReceive(out var v)) Assert.Equal(1, v);
        Assert.True(tx.TrySend(2));
    }

    [Fact]
    public void Obligations_OfACancelledHolder_AreAbortedNotLeaked() => LabTest.ForSeeds(150, PermitHolderCancelled);

    private static async Task RaceDrains(Cx cx)
    {
        int running = 0;
        var o = await cx.RaceAsync<int>(
            async cx => { running++; try { await cx.YieldAsync(); return 1; } finally { running--; } },
            async cx =>
            {
                running++;
                try { await cx.YieldAsync(); await cx.YieldAsync(); return 2; }
                finally
                {
                    // A drain that awaits: the first checkpoint may raise the (not yet seen) RaceLost cancel.
                    try { await cx.YieldAsync(); }
                    finally { running--; }
                }
            });
        Assert.Equal(0, running);
        Assert.True(o.IsOk || o.IsCancelled);
    }

    [Fact]
    public void Race_NeverReturnsBeforeLosersDrained_Seeds() => LabTest.ForSeeds(150, RaceDrains);

    [Fact]
    public void Race_NeverReturnsBeforeLosersDrained_Explored() => LabTest.Explore(RaceDrains, Bounded);

    private static async Task TimeoutAwaitsChild(Cx cx)
    {
        bool finallyRan = false;
        var o = await cx.TimeoutAsync(TimeSpan.FromMilliseconds(5), async cx =>
        {
            try { await cx.SleepAsync(TimeSpan.FromSeconds(1)); return 1; }
            finally { await cx.SleepAsync(TimeSpan.FromMilliseconds(1)); finallyRan = true; }
        });
        Assert.True(finallyRan);
        Assert.True(o.IsTimedOut());
    }

    [Fact]
    public void Timeout_CancelsAndAwaitsTheChild_Seeds() => LabTest.ForSeeds(100, TimeoutAwaitsChild);

    private static async Task NotifyWithCancelledWaiter(Cx cx)
    {
        var n = new Notify();
        bool flag = false;
        var victim = cx.Spawn("victim", async cx => await n.WaitAsync(cx));
        var consumer = cx.Spawn("consumer", async cx =>
        {
            while (!flag) await n.WaitAsync(cx); // check, then wait: must not miss the producer's NotifyOne
        });
        var producer = cx.Spawn("producer", async cx =>
        {
            await cx.YieldAsync();
            flag = true;
            n.NotifyOne();
        });
        await cx.YieldAsync();
        victim.Cancel();
        await producer.JoinAsync(cx);
        await victim.JoinAsync(cx);
        // The consumer may still need the notification the cancelled victim was handed: it must arrive.
        n.NotifyOne();
        Assert.True((await consumer.JoinAsync(cx)).IsOk);
    }

    [Fact]
    public void Notify_CancelledWaiter_NoLostWakeup_Seeds() => LabTest.ForSeeds(150, NotifyWithCancelledWaiter);

    private static async Task AckRedelivery(Cx cx)
    {
        var (tx, rx) = AckChannel.Create<int>(2);
        await tx.SendAsync(cx, 1);
        await tx.SendAsync(cx, 2);
        tx.Dispose();
        var processed = new List<int>();
        var worker = cx.Spawn("worker", async cx =>
        {
            var d = await rx.ReceiveAsync(cx);
            await cx.YieldAsync();
            processed.Add(d.Value);
            d.Ack();
        });
        await cx.YieldAsync();
        worker.Cancel();
        await worker.JoinAsync(cx);
        await foreach (var d in rx.ReadAllAsync(cx))
        {
            processed.Add(d.Value);
            d.Ack();
        }
        Assert.Equal([1, 2], processed.Order()); // every item processed exactly once
    }

    [Fact]
    public void AckChannel_CancelledWorker_ItemRedeliveredExactlyOnce_Seeds() => LabTest.ForSeeds(150, AckRedelivery);

    [Fact]
    public void AckChannel_CancelledWorker_ItemRedeliveredExactlyOnce_Explored() => LabTest.Explore(AckRedelivery, Bounded);

    private static async Task RwLockWriterCancelled(Cx cx)
    {
        var rw = new RwLock();
        int readers = 0;
        var r1 = cx.Spawn("r1", async cx => { using (await rw.ReadAsync(cx)) { readers++; await cx.YieldAsync(); } });
        var w = cx.Spawn("w", async cx => { using (await rw.WriteAsync(cx)) { Assert.Equal(0, rw.ReaderCount); await cx.YieldAsync(); } });
        var r2 = cx.Spawn("r2", async cx => { using (await rw.ReadAsync(cx)) { readers++; } });
        await cx.YieldAsync();
        w.Cancel();
        await r1.JoinAsync(cx);
        await w.JoinAsync(cx);
        Assert.True((await r2.JoinAsync(cx)).IsOk); // a cancelled writer never strands the readers behind it
        Assert.Equal(2, readers);
        Assert.Equal(0, rw.WaitingCount);
        Assert.False(rw.IsWriteLocked);
    }

    [Fact]
    public void RwLock_CancelledWriter_NeverStrandsReaders_Explored() => LabTest.Explore(RwLockWriterCancelled, Bounded);
}
