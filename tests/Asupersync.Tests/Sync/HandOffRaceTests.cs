using Asupersync.Channels;
using Asupersync.Kernel;

namespace Asupersync.Tests.Sync;

using Asupersync.Sync;

/// <summary>
/// Lands a cancel exactly between a grant and its delivery (the window the hand-off protocol exists for) using
/// the thread-static test seam, so the "granted but interrupted" path runs deterministically.
/// </summary>
public class HandOffRaceTests
{
    /// <summary>Runs <paramref name="release"/> with a hook that cancels the granted waiter before delivery.</summary>
    private static void ReleaseWhileCancelling(Action release, Func<TaskCore, bool> shouldCancel, Action<TaskCore> cancel)
    {
        PrimitiveSupport.BeforeDeliver = t =>
        {
            if (shouldCancel(t)) cancel(t);
        };
        try { release(); }
        finally { PrimitiveSupport.BeforeDeliver = null; }
    }

    [Fact]
    public Task Mutex_GrantedThenCancelled_PassesLockToNextWaiter() => Rt.Ok(async cx =>
    {
        var m = new AsyncMutex();
        var g = await m.LockAsync(cx);
        bool firstGot = false, secondGot = false;
        var first = cx.Spawn("first", async cx => { using (await m.LockAsync(cx)) firstGot = true; });
        await Rt.Until(cx, () => m.WaitingCount == 1);
        var second = cx.Spawn("second", async cx => { using (await m.LockAsync(cx)) secondGot = true; });
        await Rt.Until(cx, () => m.WaitingCount == 2);
        await Rt.UntilParked(cx, first);
        ReleaseWhileCancelling(g.Dispose, t => t.Id == first.Id, _ => first.Cancel());
        Assert.True((await first.JoinAsync(cx)).IsCancelled);
        Assert.True((await second.JoinAsync(cx)).IsOk);
        Assert.False(firstGot);
        Assert.True(secondGot);
        Assert.False(m.IsLocked);
    });

    [Fact]
    public Task Mutex_GrantedThenCancelled_NoOtherWaiter_LockBecomesFree() => Rt.Ok(async cx =>
    {
        var m = new AsyncMutex();
        var g = await m.LockAsync(cx);
        var first = cx.Spawn("first", async cx => { using (await m.LockAsync(cx)) { } });
        await Rt.Until(cx, () => m.WaitingCount == 1);
        await Rt.UntilParked(cx, first);
        ReleaseWhileCancelling(g.Dispose, t => t.Id == first.Id, _ => first.Cancel());
        Assert.True((await first.JoinAsync(cx)).IsCancelled);
        Assert.False(m.IsLocked);
        Assert.True(m.TryLock(out var g2));
        g2.Dispose();
    });

    [Fact]
    public Task Channel_ItemHandedToCancelledReceive_GoesBackToTheFront() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(2);
        var r = cx.Spawn("receiver", async cx => await rx.ReceiveAsync(cx));
        await Rt.Until(cx, () => rx.Core.Waiting.Receivers == 1);
        await Rt.UntilParked(cx, r);
        ReleaseWhileCancelling(() => Assert.True(tx.TrySend(1)), t => t.Id == r.Id, _ => r.Cancel());
        Assert.True((await r.JoinAsync(cx)).IsCancelled);
        Assert.True(tx.TrySend(2));
        Assert.False(tx.TrySend(3)); // the returned item still occupies its slot: capacity is exact
        Assert.Equal(1, await rx.ReceiveAsync(cx)); // not lost, not reordered
        Assert.Equal(2, await rx.ReceiveAsync(cx));
    });

    [Fact]
    public Task Channel_SlotGrantedToCancelledSend_IsPassedOn() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(1);
        await tx.SendAsync(cx, 0);
        var s1 = cx.Spawn("s1", async cx => await tx.SendAsync(cx, 1));
        await Rt.Until(cx, () => tx.Core.Waiting.Senders == 1);
        var s2 = cx.Spawn("s2", async cx => await tx.SendAsync(cx, 2));
        await Rt.Until(cx, () => tx.Core.Waiting.Senders == 2);
        await Rt.UntilParked(cx, s1);
        ReleaseWhileCancelling(() => Assert.True(rx.TryReceive(out _)), t => t.Id == s1.Id, _ => s1.Cancel());
        Assert.True((await s1.JoinAsync(cx)).IsCancelled);
        Assert.True((await s2.JoinAsync(cx)).IsOk);
        Assert.Equal(2, await rx.ReceiveAsync(cx));
        Assert.False(rx.TryReceive(out _));
    });

    [Fact]
    public Task Semaphore_PermitsGrantedToCancelledAcquire_AreHandedOn() => Rt.Ok(async cx =>
    {
        var sem = new AsyncSemaphore(1);
        var p = await sem.AcquireAsync(cx);
        var a1 = cx.Spawn("a1", async cx => { using (await sem.AcquireAsync(cx)) { } });
        await Rt.Until(cx, () => sem.WaitingCount == 1);
        var a2 = cx.Spawn("a2", async cx => { using (await sem.AcquireAsync(cx)) { } });
        await Rt.Until(cx, () => sem.WaitingCount == 2);
        await Rt.UntilParked(cx, a1);
        ReleaseWhileCancelling(p.Release, t => t.Id == a1.Id, _ => a1.Cancel());
        Assert.True((await a1.JoinAsync(cx)).IsCancelled);
        Assert.True((await a2.JoinAsync(cx)).IsOk);
        Assert.Equal(1, sem.Available);
    });

    [Fact]
    public Task Oneshot_ValueHandedToCancelledReceive_StaysForNextReceive() => Rt.Ok(async cx =>
    {
        var (tx, rx) = Oneshot.Create<int>();
        var r = cx.Spawn("r", async cx => await rx.ReceiveAsync(cx));
        await Rt.Until(cx, () => rx.Core.WaitingReceivers == 1);
        await Rt.UntilParked(cx, r);
        ReleaseWhileCancelling(() => Assert.True(tx.TrySend(4)), t => t.Id == r.Id, _ => r.Cancel());
        Assert.True((await r.JoinAsync(cx)).IsCancelled);
        Assert.True(rx.HasValue);
        Assert.Equal(4, await rx.ReceiveAsync(cx));
    });
}
