using Asupersync.Channels;
using Asupersync.Sync;

namespace Asupersync.LabBench;

/// <summary>One seeded-bug program of the Lab benchmark: a buggy variant and a fixed one.</summary>
/// <param name="Name">Short name (after the SCTBench or Coyote program whose shape it has).</param>
/// <param name="Description">The bug in one line.</param>
/// <param name="Buggy">The program with the bug: some schedule fails it.</param>
/// <param name="Fixed">The same program with the bug fixed: no schedule fails it.</param>
public sealed record SeededBug(string Name, string Description, Func<Cx, Task> Buggy, Func<Cx, Task> Fixed);

/// <summary>
/// The Lab benchmark's seeded-bug programs, written for this project after the shapes of SCTBench (twostage,
/// reorder, lost update, wrong lock, dining philosophers) and Coyote's samples (bounded buffer with a single
/// notify, lock-order deadlock), plus a cancel landing between an obligation's reserve and commit. Every shared
/// field is a plain field protected (or meant to be protected) by runtime primitives, as testers write them.
/// </summary>
public static class SeededBugs
{
    /// <summary>All programs, in report order.</summary>
    public static IReadOnlyList<SeededBug> All { get; } =
    [
        new("twostage", "a checker runs between stage 1 and stage 2, each under its own uncontended lock", TwoStage(false), TwoStage(true)),
        new("reorder-3", "a checker sees one of two writes (under separate lock acquisitions) of one of 3 setters", Reorder(3, false), Reorder(3, true)),
        new("reorder-10", "the same with 10 setters", Reorder(10, false), Reorder(10, true)),
        new("lost-update", "two increments read and write a counter in separate critical sections", LostUpdate(false), LostUpdate(true)),
        new("wrong-lock", "two tasks update one counter under two different locks", WrongLock(false), WrongLock(true)),
        new("lock-order", "two tasks take two mutexes in opposite orders and deadlock", LockOrder(false), LockOrder(true)),
        new("philosophers-3", "three philosophers take their left fork first and deadlock", Philosophers(3, false), Philosophers(3, true)),
        new("bounded-buffer", "a one-slot buffer with one Notify for both 'not full' and 'not empty' loses a wake-up", BoundedBuffer(false), BoundedBuffer(true)),
        new("cancel-reserve-commit", "a cancel lands between a channel reserve and its send; the item is dropped", CancelReserveCommit(false), CancelReserveCommit(true)),
    ];

    private static void Check(bool ok, string what)
    {
        if (!ok) throw new InvalidOperationException(what);
    }

    /// <summary>SCTBench twostage: stage 1 under lock 1, stage 2 under lock 2; fixed: lock 1 held across both.</summary>
    public static Func<Cx, Task> TwoStage(bool fixedVariant) => async cx =>
    {
        var m1 = new AsyncMutex();
        var m2 = new AsyncMutex();
        int stage1 = 0, stage2 = 0;
        var writer = cx.Spawn("writer", async cx =>
        {
            if (fixedVariant)
            {
                using (await m1.LockAsync(cx))
                {
                    stage1 = 1;
                    using (await m2.LockAsync(cx)) stage2 = stage1 + 1;
                }
                return;
            }
            using (await m1.LockAsync(cx)) stage1 = 1;
            using (await m2.LockAsync(cx)) stage2 = stage1 + 1;
        });
        var checker = cx.Spawn("checker", async cx =>
        {
            int s1, s2;
            if (fixedVariant)
            {
                using (await m1.LockAsync(cx))
                {
                    s1 = stage1;
                    using (await m2.LockAsync(cx)) s2 = stage2;
                }
            }
            else
            {
                using (await m1.LockAsync(cx)) s1 = stage1;
                using (await m2.LockAsync(cx)) s2 = stage2;
            }
            Check(s1 == 0 || s2 == 2, "stage 1 is set but stage 2 is not");
        });
        await writer.JoinAsync(cx);
        await checker.JoinAsync(cx);
    };

    /// <summary>SCTBench reorder_N: N setters write a then b (two acquisitions); a checker reads both. Fixed: one acquisition.</summary>
    public static Func<Cx, Task> Reorder(int setters, bool fixedVariant) => async cx =>
    {
        var m = new AsyncMutex();
        int a = 0, b = 0;
        var hs = new List<TaskHandle<Unit>>();
        for (int i = 0; i < setters; i++)
        {
            hs.Add(cx.Spawn("setter" + i, async cx =>
            {
                if (fixedVariant)
                {
                    using (await m.LockAsync(cx))
                    {
                        a = 1;
                        b = -1;
                    }
                    return;
                }
                using (await m.LockAsync(cx)) a = 1;
                using (await m.LockAsync(cx)) b = -1;
            }));
        }
        hs.Add(cx.Spawn("checker", async cx =>
        {
            using (await m.LockAsync(cx)) Check((a == 0 && b == 0) || (a == 1 && b == -1), $"saw a = {a}, b = {b}");
        }));
        foreach (var h in hs) await h.JoinAsync(cx);
    };

    /// <summary>Two increments: read in one critical section, write in another. Fixed: one critical section.</summary>
    public static Func<Cx, Task> LostUpdate(bool fixedVariant) => async cx =>
    {
        var m = new AsyncMutex();
        int counter = 0;
        async Task Increment(Cx cx)
        {
            if (fixedVariant)
            {
                using (await m.LockAsync(cx)) counter++;
                return;
            }
            int v;
            using (await m.LockAsync(cx)) v = counter;
            using (await m.LockAsync(cx)) counter = v + 1;
        }
        var x = cx.Spawn("inc-a", Increment);
        var y = cx.Spawn("inc-b", Increment);
        await x.JoinAsync(cx);
        await y.JoinAsync(cx);
        Check(counter == 2, $"lost update: counter is {counter}");
    };

    /// <summary>SCTBench wronglock: each task protects the counter with its own lock. Fixed: one lock.</summary>
    public static Func<Cx, Task> WrongLock(bool fixedVariant) => async cx =>
    {
        var m1 = new AsyncMutex();
        var m2 = fixedVariant ? m1 : new AsyncMutex();
        int counter = 0;
        async Task Add(Cx cx, AsyncMutex m)
        {
            using (await m.LockAsync(cx))
            {
                int v = counter;
                await cx.YieldAsync(); // work inside the critical section
                counter = v + 1;
            }
        }
        var x = cx.Spawn("a", cx => Add(cx, m1));
        var y = cx.Spawn("b", cx => Add(cx, m2));
        await x.JoinAsync(cx);
        await y.JoinAsync(cx);
        Check(counter == 2, $"lost update under the wrong lock: counter is {counter}");
    };

    /// <summary>Lock-order inversion. Fixed: both tasks take the mutexes in the same order.</summary>
    public static Func<Cx, Task> LockOrder(bool fixedVariant) => async cx =>
    {
        var m1 = new AsyncMutex();
        var m2 = new AsyncMutex();
        async Task Both(Cx cx, AsyncMutex first, AsyncMutex second)
        {
            using (await first.LockAsync(cx))
            using (await second.LockAsync(cx))
            {
            }
        }
        var x = cx.Spawn("a", cx => Both(cx, m1, m2));
        var y = cx.Spawn("b", cx => fixedVariant ? Both(cx, m1, m2) : Both(cx, m2, m1));
        await x.JoinAsync(cx);
        await y.JoinAsync(cx);
    };

    /// <summary>Dining philosophers, left fork first. Fixed: the last philosopher takes the right fork first.</summary>
    public static Func<Cx, Task> Philosophers(int n, bool fixedVariant) => async cx =>
    {
        var forks = Enumerable.Range(0, n).Select(_ => new AsyncMutex()).ToArray();
        var hs = new List<TaskHandle<Unit>>();
        for (int i = 0; i < n; i++)
        {
            int left = i, right = (i + 1) % n;
            if (fixedVariant && i == n - 1) (left, right) = (right, left);
            hs.Add(cx.Spawn("philosopher" + i, async cx =>
            {
                using (await forks[left].LockAsync(cx))
                using (await forks[right].LockAsync(cx))
                {
                }
            }));
        }
        foreach (var h in hs) await h.JoinAsync(cx);
    };

    /// <summary>
    /// A one-slot buffer shared by two producers and two consumers, signalled through Notify: the buggy variant
    /// uses a single Notify for "not full" and "not empty" and wakes one waiter, which may be of the wrong kind
    /// (the lost wake-up of Coyote's BoundedBuffer sample); the fixed variant has one Notify per condition.
    /// </summary>
    public static Func<Cx, Task> BoundedBuffer(bool fixedVariant) => async cx =>
    {
        var m = new AsyncMutex();
        var notFull = new Notify();
        var notEmpty = fixedVariant ? new Notify() : notFull;
        int? slot = null;
        async Task Put(Cx cx, int v)
        {
            while (true)
            {
                using (await m.LockAsync(cx))
                {
                    if (slot is null)
                    {
                        slot = v;
                        notEmpty.NotifyOne();
                        return;
                    }
                }
                await notFull.WaitAsync(cx);
            }
        }
        async Task<int> Take(Cx cx)
        {
            while (true)
            {
                using (await m.LockAsync(cx))
                {
                    if (slot is { } v)
                    {
                        slot = null;
                        notFull.NotifyOne();
                        return v;
                    }
                }
                await notEmpty.WaitAsync(cx);
            }
        }
        var hs = new List<TaskHandle<Unit>>
        {
            cx.Spawn("producer0", async cx => { await Put(cx, 1); await Put(cx, 2); }),
            cx.Spawn("producer1", async cx => { await Put(cx, 3); await Put(cx, 4); }),
            cx.Spawn("consumer0", async cx => { await Take(cx); await Take(cx); }),
            cx.Spawn("consumer1", async cx => { await Take(cx); await Take(cx); }),
        };
        foreach (var h in hs) await h.JoinAsync(cx);
    };

    /// <summary>
    /// A producer reserves a channel slot, then sends; another task cancels it. The buggy producer passes a
    /// checkpoint between reserve and send, so a cancel landing there drops the reserved item. Fixed: nothing
    /// between reserve and send can observe the cancel.
    /// </summary>
    public static Func<Cx, Task> CancelReserveCommit(bool fixedVariant) => async cx =>
    {
        var (tx, rx) = Mpsc.Bounded<int>(1);
        bool reserved = false, sent = false;
        var producer = cx.Spawn("producer", async cx =>
        {
            using var permit = await tx.ReserveAsync(cx);
            reserved = true;
            try
            {
                if (!fixedVariant) await cx.YieldAsync(); // a checkpoint between reserve and commit
                permit.Send(7);
                sent = true;
            }
            catch (CancelledException)
            {
                // Dropped: the permit's Dispose gives the slot back and nothing is sent.
            }
        });
        var canceller = cx.Spawn("canceller", async cx =>
        {
            await cx.YieldAsync();
            producer.Cancel();
        });
        await producer.JoinAsync(cx);
        await canceller.JoinAsync(cx);
        Check(!reserved || sent, "a cancel landed between reserve and send: the reserved item was dropped");
        if (sent) Check(await rx.ReceiveAsync(cx) == 7, "wrong item");
    };
}
