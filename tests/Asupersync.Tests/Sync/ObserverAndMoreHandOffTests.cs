using Asupersync.Channels;
using Asupersync.Kernel;

namespace Asupersync.Tests.Sync;

using Asupersync.Sync;

public class ObserverAndMoreHandOffTests
{
    private sealed class AccessLog : IRuntimeObserver
    {
        public readonly List<(long Id, string Kind)> Accesses = new();

        public void OnAccess(long objectId, string kind)
        {
            lock (Accesses) Accesses.Add((objectId, kind));
        }

        public void OnTaskSpawned(TaskCore task) { }
        public void OnStep(TaskCore task, bool begin) { }
        public void OnCancelRequested(TaskCore task, CancelReason reason) { }
        public void OnCancelAcknowledged(TaskCore task, CancelReason reason) { }
        public void OnBudgetOverrun(TaskCore task) { }
        public void OnTaskCompleted(TaskCore task, Outcome<Unit> outcome) { }
        public void OnWait(TaskCore task, string what, long objectId) { }
        public void OnWaitInterrupted(TaskCore task) { }
        public void OnRegionOpened(RegionCore region) { }
        public void OnRegionState(RegionCore region, RegionState state) { }
        public void OnFinalizer(RegionCore region, int index) { }
        public void OnObligation(Obligation obligation, ObligationState state) { }
    }

    [Fact]
    public async Task Primitives_ReportTheirAccesses_WithStableIds()
    {
        var log = new AccessLog();
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        rt.Core.Observer = log;
        var o = await rt.RunAsync(async cx =>
        {
            var m1 = new AsyncMutex();
            var m2 = new AsyncMutex();
            using (await m1.LockAsync(cx)) { }
            using (await m2.LockAsync(cx)) { }
            using (await m1.LockAsync(cx)) { }
            var (tx, rx) = Mpsc.Bounded<int>(1);
            await tx.SendAsync(cx, 1);
            await rx.ReceiveAsync(cx);
        }).WaitAsync(Rt.HangGuard);
        Assert.True(o.IsOk, o.ToString());
        List<(long Id, string Kind)> a;
        lock (log.Accesses) a = [.. log.Accesses];
        var mutexIds = a.Where(x => x.Kind == "mutex").Select(x => x.Id).Distinct().ToList();
        Assert.Equal(2, mutexIds.Count); // one stable id per instance, every lock and release reported
        Assert.True(a.Count(x => x.Kind == "mutex") >= 6);
        Assert.Single(a.Where(x => x.Kind == "channel").Select(x => x.Id).Distinct());
    }

    private static void CancelDuringHandOff(Action release, long victimId, TaskHandle<Unit> victim)
    {
        PrimitiveSupport.BeforeDeliver = t =>
        {
            if (t.Id == victimId) victim.Cancel();
        };
        try { release(); }
        finally { PrimitiveSupport.BeforeDeliver = null; }
    }

    [Fact]
    public Task RwLock_WriteGrantedThenCancelled_AdmitsQueuedReaders() => Rt.Ok(async cx =>
    {
        var rw = new RwLock();
        var r = await rw.ReadAsync(cx);
        var writer = cx.Spawn("writer", async cx => { using (await rw.WriteAsync(cx)) { } });
        await Rt.Until(cx, () => rw.WaitingCount == 1);
        var reader = cx.Spawn("reader", async cx => { using (await rw.ReadAsync(cx)) { } });
        await Rt.Until(cx, () => rw.WaitingCount == 2);
        await Rt.UntilParked(cx, writer);
        CancelDuringHandOff(r.Dispose, writer.Id, writer);
        Assert.True((await writer.JoinAsync(cx)).IsCancelled);
        Assert.True((await reader.JoinAsync(cx)).IsOk);
        Assert.False(rw.IsWriteLocked);
        Assert.Equal(0, rw.ReaderCount);
    });

    [Fact]
    public Task Notify_OneGrantedToCancelledWaiter_IsPassedToTheNext() => Rt.Ok(async cx =>
    {
        var n = new Notify();
        var a = cx.Spawn("a", async cx => await n.WaitAsync(cx));
        await Rt.Until(cx, () => n.WaitingCount == 1);
        var b = cx.Spawn("b", async cx => await n.WaitAsync(cx));
        await Rt.Until(cx, () => n.WaitingCount == 2);
        await Rt.UntilParked(cx, a);
        CancelDuringHandOff(n.NotifyOne, a.Id, a);
        Assert.True((await a.JoinAsync(cx)).IsCancelled);
        Assert.True((await b.JoinAsync(cx)).IsOk); // the wake-up was not lost
    });

    [Fact]
    public Task AckChannel_NackWithAWaitingReceiver_RedeliversToIt() => Rt.Ok(async cx =>
    {
        var (tx, rx) = AckChannel.Create<int>(1);
        await tx.SendAsync(cx, 1);
        var d = await rx.ReceiveAsync(cx);
        var other = cx.Spawn("other", async cx =>
        {
            using var again = await rx.ReceiveAsync(cx);
            again.Ack();
            return again.Value;
        });
        await Rt.Until(cx, () => tx.Core.Waiting.Receivers == 1);
        d.Nack();
        Assert.Equal(1, (await other.JoinAsync(cx)).Value);
        tx.Dispose();
        var rest = new List<int>();
        await foreach (var x in rx.ReadAllAsync(cx)) { rest.Add(x.Value); x.Ack(); }
        Assert.Empty(rest);
    });
}
