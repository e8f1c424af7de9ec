namespace Asupersync.Time;

/// <summary>A pending timer. Cancelling it is idempotent; a cancelled or fired timer never fires (again).</summary>
internal sealed class TimerEntry
{
    internal readonly TimeSpan Due;
    internal readonly long Seq;
    private Action<object?>? _callback;
    private readonly object? _state;

    internal TimerEntry(TimeSpan due, long seq, Action<object?> callback, object? state)
    {
        Due = due;
        Seq = seq;
        _callback = callback;
        _state = state;
    }

    internal bool IsCancelled => Volatile.Read(ref _callback) is null;

    /// <summary>Prevents the timer from firing. Returns false when it already fired or was cancelled.</summary>
    internal bool Cancel() => Interlocked.Exchange(ref _callback, null) is not null;

    internal void Fire()
    {
        var cb = Interlocked.Exchange(ref _callback, null);
        cb?.Invoke(_state);
    }
}

/// <summary>
/// The runtime-owned timer facility: a min-heap of timers keyed by (due time, sequence). The driver decides
/// when "now" is — wall-clock in production, virtual time in the Lab — and calls <see cref="FireDue"/>.
/// Callbacks run outside the lock, in due order, ties in registration order (deterministic for the Lab).
/// </summary>
internal sealed class TimerQueue
{
    private readonly object _gate = new();
    private readonly PriorityQueue<TimerEntry, (TimeSpan, long)> _heap = new();
    private long _seq;

    internal TimerEntry Add(TimeSpan due, Action<object?> callback, object? state, out bool isEarliest)
    {
        lock (_gate)
        {
            var e = new TimerEntry(due, ++_seq, callback, state);
            PruneCancelledLocked();
            isEarliest = !_heap.TryPeek(out _, out var top) || (due, e.Seq).CompareTo(top) < 0;
            _heap.Enqueue(e, (due, e.Seq));
            return e;
        }
    }

    internal int Count
    {
        get { lock (_gate) { PruneCancelledLocked(); return _heap.Count; } }
    }

    /// <summary>The due time of the earliest live timer.</summary>
    internal TimeSpan? NextDue
    {
        get
        {
            lock (_gate)
            {
                PruneCancelledLocked();
                return _heap.TryPeek(out var e, out _) ? e.Due : null;
            }
        }
    }

    /// <summary>The earliest live timer, if any (the Lab uses its identity to see which steps change what fires next).</summary>
    internal TimerEntry? PeekLive()
    {
        lock (_gate)
        {
            PruneCancelledLocked();
            return _heap.TryPeek(out var e, out _) ? e : null;
        }
    }

    /// <summary>Fires every live timer whose due time is at or before <paramref name="now"/>. Returns how many fired.</summary>
    internal int FireDue(TimeSpan now)
    {
        int fired = 0;
        while (true)
        {
            TimerEntry? e;
            lock (_gate)
            {
                PruneCancelledLocked();
                if (!_heap.TryPeek(out e, out _) || e.Due > now) return fired;
                _heap.Dequeue();
            }
            // Outside the lock: a callback may add timers or take other locks.
            e.Fire();
            fired++;
        }
    }

    /// <summary>Fires only the single earliest due timer (used by the Lab to make each firing one step).</summary>
    internal bool FireOne(TimeSpan now)
    {
        TimerEntry? e;
        lock (_gate)
        {
            PruneCancelledLocked();
            if (!_heap.TryPeek(out e, out _) || e.Due > now) return false;
            _heap.Dequeue();
        }
        e.Fire();
        return true;
    }

    private void PruneCancelledLocked()
    {
        while (_heap.TryPeek(out var e, out _) && e.IsCancelled) _heap.Dequeue();
    }
}
