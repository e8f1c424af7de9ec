using System.Collections.Concurrent;
using System.Security.Cryptography;
using Asupersync.Kernel;

namespace Asupersync.Scheduling;

/// <summary>
/// The production driver: N worker threads, three lanes, work stealing, parking without lost wake-ups and a
/// timer pump on the configured <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// <para>Lanes: <b>cancel</b> (tasks with a pending or acknowledged cancel; harsher reasons first) &gt;
/// <b>timed</b> (tasks with a deadline; earliest first) &gt; <b>ready</b>. The cancel and timed lanes are shared
/// heaps (they hold few tasks in a healthy program); the ready lane is one queue per worker plus a shared
/// injection queue, and idle workers steal from the others. Ready tasks with a non-zero priority go to a shared
/// priority heap served before the per-worker queues. After <see cref="RuntimeOptions.CancelStreakLimit"/>
/// consecutive cancel-lane dispatches a worker serves the other lanes once, so they always progress.</para>
/// <para>Parking: a worker announces itself as a sleeper (an interlocked increment, a full fence), re-checks
/// every queue, and only then waits. A producer enqueues (a fence) and then reads the sleeper count, so either
/// the worker sees the work or the producer sees the sleeper and releases it: no wake-up is lost.</para>
/// <para>This class is the production driver's own business: it is the one place that creates threads and
/// reads the wall clock. Kernel code never does.</para>
/// </remarks>
internal sealed class ThreeLaneScheduler : Driver
{
    private readonly int _workerCount;
    private readonly int _streakLimit;
    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private readonly Worker[] _workers;
    private readonly ConcurrentQueue<TaskCore> _injector = new();
    private readonly object _laneGate = new();
    private readonly ConcurrentQueue<TaskCore>[] _cancelLanes = [new(), new(), new(), new(), new(), new()]; // by tier
    private int _cancelCount;
    private readonly Governor? _governor; // null unless RuntimeOptions.SteerByPotential
    private readonly PriorityQueue<TaskCore, (TimeSpan, long)> _timedLane = new();
    private readonly PriorityQueue<TaskCore, (int, long)> _priorityLane = new();
    private long _laneSeq;
    private int _sharedCount; // tasks in the timed and priority heaps
    private readonly SemaphoreSlim _parking = new(0);
    private int _sleepers;
    private volatile bool _stopping;
    private ITimer? _timer;
    private readonly object _timerGate = new();
    private TimeSpan _armedFor = TimeSpan.MaxValue;

    [ThreadStatic] private static Worker? t_worker;

    internal ThreeLaneScheduler(RuntimeOptions options)
    {
        _workerCount = Math.Max(1, options.WorkerCount ?? Environment.ProcessorCount);
        _streakLimit = Math.Max(1, options.CancelStreakLimit);
        _time = options.TimeProvider;
        if (options.SteerByPotential) _governor = new Governor(options.PotentialWeights ?? PotentialWeights.Default, _streakLimit);
        _startTimestamp = _time.GetTimestamp();
        _workers = new Worker[_workerCount];
        for (int i = 0; i < _workerCount; i++) _workers[i] = new Worker(this, i);
    }

    internal override TimeSpan Now => _time.GetElapsedTime(_startTimestamp);

    internal override DateTimeOffset UtcNow => _time.GetUtcNow();

    internal override ulong NextRandom()
    {
        // Per-thread xoshiro-style state seeded from the OS CSPRNG: fast, thread-safe, not reproducible
        // (reproducible entropy is the Lab's job).
        ref var s = ref t_rng;
        if (s == 0) s = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) | 1;
        s += 0x9E3779B97F4A7C15UL;
        ulong z = s;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [ThreadStatic] private static ulong t_rng;

    internal override void Start()
    {
        _timer = _time.CreateTimer(static s => ((ThreeLaneScheduler)s!).PumpTimers(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        foreach (var w in _workers) w.Start();
    }

    internal override void Stop()
    {
        if (_stopping) return;
        _stopping = true;
        _parking.Release(_workerCount + 1);
        _timer?.Dispose();
        foreach (var w in _workers)
        {
            if (!ReferenceEquals(t_worker, w)) w.Join();
        }
    }

    /// <inheritdoc />
    internal override bool StartsInline => true;

    internal override void Schedule(TaskCore task)
    {
        var lane = task.Lane;
        if (lane == Lane.Ready && task.Priority == 0)
        {
            var w = t_worker;
            bool yielding = task.Yielding;
            task.Yielding = false;
            if (w is not null && ReferenceEquals(w.Owner, this) && yielding)
            {
                w.Local.Enqueue(task);
            }
            else if (w is not null && ReferenceEquals(w.Owner, this))
            {
                // LIFO slot: a task made ready by the running step (a child just spawned, a joiner just woken, a
                // region's caller once its body ended) runs next on this worker, where its data is hot, without
                // waking another core. The previous occupant moves to the queue, where others may steal it.
                var prev = Interlocked.Exchange(ref w.Next, task);
                if (prev is null) return;
                w.Local.Enqueue(prev);
            }
            else
            {
                _injector.Enqueue(task);
            }
        }
        else if (_governor is { } g && lane != Lane.Ready)
        {
            lock (_laneGate)
            {
                g.Add(task, lane, Now);
                if (lane == Lane.Cancel) Interlocked.Increment(ref _cancelCount);
                else _sharedCount++;
            }
        }
        else if (lane == Lane.Cancel)
        {
            // One lock-free FIFO per severity tier: harsher reasons first, no shared lock when a whole region
            // of tasks is cancelled at once.
            _cancelLanes[Math.Clamp(task.CancelTier, 0, 5)].Enqueue(task);
            Interlocked.Increment(ref _cancelCount);
        }
        else
        {
            lock (_laneGate)
            {
                long seq = ++_laneSeq;
                if (lane == Lane.Timed) _timedLane.Enqueue(task, (task.Deadline!.Value, seq));
                else _priorityLane.Enqueue(task, (-task.Priority, seq));
                _sharedCount++;
            }
        }
        Notify();
    }

    private int _wakePending;

    private void Notify()
    {
        Interlocked.MemoryBarrier();
        // Coalesce: one release in flight is enough; the woken worker re-notifies if work remains.
        if (Volatile.Read(ref _sleepers) > 0 && Interlocked.CompareExchange(ref _wakePending, 1, 0) == 0) _parking.Release();
    }

    private TaskCore? TakeShared(ref int streak)
    {
        if (_governor is { } g) return TakeGoverned(g, ref streak);
        if (Volatile.Read(ref _cancelCount) > 0 && streak < _streakLimit)
        {
            for (int tier = 5; tier >= 0; tier--)
            {
                if (_cancelLanes[tier].TryDequeue(out var c))
                {
                    Interlocked.Decrement(ref _cancelCount);
                    streak++;
                    return c;
                }
            }
        }
        // Streak used up (or no cancel work): serve the other lanes once — the timed and priority heaps
        // here, else the caller's ready queues — before the cancel lane again.
        streak = 0;
        if (Volatile.Read(ref _sharedCount) == 0) return null;
        lock (_laneGate)
        {
            if (_timedLane.Count > 0)
            {
                _sharedCount--;
                return _timedLane.Dequeue();
            }
            if (_priorityLane.Count > 0)
            {
                _sharedCount--;
                return _priorityLane.Dequeue();
            }
        }
        return null;
    }

    /// <summary>The governed form of <see cref="TakeShared"/>: the cancel and timed lanes are the governor's heaps.</summary>
    private TaskCore? TakeGoverned(Governor g, ref int streak)
    {
        if (Volatile.Read(ref _cancelCount) == 0 && Volatile.Read(ref _sharedCount) == 0)
        {
            streak = 0;
            return null;
        }
        lock (_laneGate)
        {
            var t = g.Take(Now, ref streak, out bool wasCancel);
            if (t is null && _priorityLane.Count > 0) t = _priorityLane.Dequeue();
            if (t is null) return null;
            if (wasCancel) Interlocked.Decrement(ref _cancelCount);
            else _sharedCount--;
            return t;
        }
    }

    private bool HasWork()
    {
        if (Volatile.Read(ref _sharedCount) > 0 || Volatile.Read(ref _cancelCount) > 0 || !_injector.IsEmpty) return true;
        foreach (var w in _workers) if (!w.Local.IsEmpty || Volatile.Read(ref w.Next) is not null) return true;
        return false;
    }

    internal override void TimerAdded(TimeSpan due)
    {
        // _armedFor and the ITimer are updated together under the lock: two threads arming different due
        // times must not leave the timer armed for the later one while _armedFor records the earlier.
        lock (_timerGate)
        {
            if (due >= _armedFor) return;
            ArmLocked(due);
        }
    }

    private void ArmLocked(TimeSpan due)
    {
        _armedFor = due;
        var delay = due - Now;
        if (delay < TimeSpan.Zero) delay = TimeSpan.Zero;
        try { _timer?.Change(delay, Timeout.InfiniteTimeSpan); }
        catch (ObjectDisposedException) { }
    }

    private int _pumpRequests;

    private void PumpTimers()
    {
        // One pumper at a time: the ITimer may call back again (re-armed for an earlier timer) while a pump is
        // still firing callbacks, and two concurrent pumps would fire due timers out of order. A callback that
        // finds a pump running leaves the work to it; the pumper loops until no request is left.
        if (Interlocked.Increment(ref _pumpRequests) != 1) return;
        do
        {
            if (_stopping) return;
            lock (_timerGate) _armedFor = TimeSpan.MaxValue;
            Core.Timers.FireDue(Now);
            var next = Core.Timers.NextDue;
            if (next is { } n)
            {
                lock (_timerGate)
                {
                    if (n < _armedFor) ArmLocked(n);
                }
            }
        }
        while (Interlocked.Decrement(ref _pumpRequests) != 0);
    }

    private const int SpinsBeforePark = 50;
    private const int MaxNextStreak = 8;

    private sealed class Worker
    {
        internal readonly ThreeLaneScheduler Owner;
        internal readonly ConcurrentQueue<TaskCore> Local = new();
        internal TaskCore? Next; // the LIFO slot (taken with Interlocked.Exchange, also by thieves)
        private int _nextStreak;
        private readonly int _index;
        private Thread? _thread;

        internal Worker(ThreeLaneScheduler owner, int index)
        {
            Owner = owner;
            _index = index;
        }

        internal void Start()
        {
            // The production driver owns its worker threads; nothing else in the runtime creates threads.
#pragma warning disable RS0030 // the production driver's worker threads (the only threads the runtime creates)
            _thread = new Thread(Run) { IsBackground = true, Name = $"asupersync-worker-{_index}" };
#pragma warning restore RS0030
            _thread.UnsafeStart();
        }

        internal void Join() => _thread?.Join();

        private void Run()
        {
            t_worker = this;
            int streak = 0;
            var o = Owner;
            while (!o._stopping)
            {
                var task = o.TakeShared(ref streak) ?? TakeReady() ?? o.TakeShared(ref streak);
                if (task is not null)
                {
                    task.RunStep();
                    continue;
                }
                // Spin briefly before parking: a wake-up costs a system call on both sides, and in a busy
                // runtime new work usually arrives within microseconds.
                for (int spin = 0; spin < SpinsBeforePark && task is null; spin++)
                {
                    Thread.SpinWait(20);
                    task = o.TakeShared(ref streak) ?? TakeReady();
                }
                task ??= TakeReady(stealNext: true);
                if (task is not null)
                {
                    task.RunStep();
                    continue;
                }
                Interlocked.Increment(ref o._sleepers);
                if (o.HasWork() || o._stopping)
                {
                    Interlocked.Decrement(ref o._sleepers);
                    continue;
                }
                o._parking.Wait();
                Interlocked.Decrement(ref o._sleepers);
                Volatile.Write(ref o._wakePending, 0);
                if (o.HasWork()) o.Notify();
            }
        }

        private TaskCore? TakeReady(bool stealNext = false)
        {
            var o = Owner;
            TaskCore? t;
            // The LIFO slot first, but at most a few times in a row, so a task that keeps waking its neighbour
            // cannot starve the queue.
            if (_nextStreak < MaxNextStreak && (t = Interlocked.Exchange(ref Next, null)) is not null)
            {
                _nextStreak++;
                return t;
            }
            _nextStreak = 0;
            if (Local.TryDequeue(out t)) return t;
            if ((t = Interlocked.Exchange(ref Next, null)) is not null) return t;
            if (o._injector.TryDequeue(out t)) return t;
            var ws = o._workers;
            for (int i = 1; i < ws.Length; i++)
            {
                var victim = ws[(_index + i) % ws.Length];
                if (victim.Local.TryDequeue(out t)) return t;
            }
            if (stealNext)
            {
                // Only a worker about to park takes another's LIFO slot: normally its owner runs it next, but an
                // owner stuck in a long step must not strand it.
                for (int i = 1; i < ws.Length; i++)
                {
                    if ((t = Interlocked.Exchange(ref ws[(_index + i) % ws.Length].Next, null)) is not null) return t;
                }
            }
            return null;
        }
    }
}
