using System.Diagnostics;
using Asupersync.Kernel;
using Asupersync.Sync;

namespace Asupersync.Channels;

/// <summary>
/// The state machine of a multi-producer single-consumer channel (bounded, or unbounded with capacity
/// <see cref="int.MaxValue"/>). Everything happens under one lock; waits are completed after it is released.
/// </summary>
/// <remarks>
/// <para>Slot accounting: <c>occupied = items + reserved + inflight ≤ capacity</c>, where <c>reserved</c> counts
/// slots held by send permits and by granted send waits that have not pushed yet, and <c>inflight</c> counts
/// items handed to a receive wait that has not resumed yet. An in-flight item keeps its slot until the wait is
/// known to have taken it: if the receive is interrupted in that instant, the item goes back to the front of the
/// buffer (or to the next receive wait) without ever exceeding the capacity and without reordering.</para>
/// <para>Completion: after the senders complete, the receiver still drains every buffered item <em>and every
/// outstanding permit</em> (a reserved send is a promise that the item will arrive); only when nothing is left
/// does a receive report the end.</para>
/// <para>Evict-oldest mode (<see cref="Mpsc.EvictOldest{T}"/>): sends never wait; the capacity bounds the buffered
/// items only, and a push into a full buffer drops its oldest item (counted in <see cref="Evicted"/>).</para>
/// <para>Readiness watchers (<see cref="Select"/>) are told, once, when an item is buffered or the channel is
/// drained; they never take an item themselves, so a select that loses takes nothing.</para>
/// </remarks>
internal sealed class MpscCore<T> : IWaitOwner<T>, IWaitForResource
{
    private readonly Lock _gate = new();
    private readonly Deque<T> _items = new();
    private readonly WaitQueue<T> _receivers = new();
    private readonly WaitQueue<Unit> _senders = new();
    private readonly SendSide _sendSide;
    private readonly int _capacity;
    private int _reserved;
    private int _inflight;
    private int _unacked;
    private bool _completed;
    private bool _receiverClosed;
    private Exception? _error;
    private int _senderHandles = 1;
    private long _id;
    private readonly bool _evictOldest;
    private long _evicted;
    private List<IReadyWatcher>? _watchers;

    internal MpscCore(int capacity, bool evictOldest = false)
    {
        _capacity = capacity;
        _evictOldest = evictOldest;
        _sendSide = new SendSide(this);
    }

    /// <summary>Items dropped by evict-oldest mode so far.</summary>
    internal long Evicted
    {
        get { lock (_gate) return _evicted; }
    }

    internal bool IsEvictOldest => _evictOldest;

    internal int Capacity => _capacity;

    internal int Count
    {
        get { lock (_gate) return _items.Count; }
    }

    internal bool IsCompleted
    {
        get { lock (_gate) return _completed; }
    }

    /// <summary>Queued send and receive waits (snapshots, for tests and diagnostics).</summary>
    internal (int Senders, int Receivers) Waiting
    {
        get { lock (_gate) return (_senders.Count, _receivers.Count); }
    }

    private int Occupied => _items.Count + _reserved + _inflight + _unacked;

    // An unacknowledged delivery may still be nacked back, so the end is reported only when none is left.
    private bool DrainedLocked => _receiverClosed || (_completed && _items.Count == 0 && _reserved == 0 && _inflight == 0 && _unacked == 0);

    /// <summary>What to do once the lock is released.</summary>
    private struct Effects
    {
        public PrimitiveWait<T>? Receive;
        public PrimitiveWait<Unit>? Send;
        public List<PrimitiveWait<T>>? FailReceives;
        public List<PrimitiveWait<Unit>>? FailSends;
        public List<IReadyWatcher>? Ready;
    }

    // ------------------------------------------------------------------ send side

    internal ValueTask SendAsync(Cx cx, T item)
    {
        var task = cx.Task;
        task.Checkpoint();
        var fx = default(Effects);
        PrimitiveWait<Unit> w;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(task, ref _id, "channel");
            if (_completed) throw SendClosed();
            if (TryTakeSlotLocked())
            {
                PushReservedLocked(item, ref fx);
                w = null!;
            }
            else
            {
                w = new PrimitiveWait<Unit>(task, _sendSide);
                _senders.Enqueue(w);
            }
        }
        if (w is null)
        {
            Apply(fx);
            return ValueTask.CompletedTask;
        }
        PrimitiveSupport.Park(w, "channel-send", _id);
        return SendSlow(w, item);
    }

    private async ValueTask SendSlow(PrimitiveWait<Unit> w, T item)
    {
        await w.AsUntypedValueTask(); // a slot is now reserved for us (or the wait raised: nothing was taken)
        CommitReserved(item);
    }

    internal bool TrySend(T item)
    {
        var fx = default(Effects);
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "channel");
            if (_completed || !TryTakeSlotLocked()) return false;
            PushReservedLocked(item, ref fx);
        }
        Apply(fx);
        return true;
    }

    internal ValueTask<SendPermit<T>> ReserveAsync(Cx cx)
    {
        var task = cx.Task;
        task.Checkpoint();
        PrimitiveWait<Unit> w;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(task, ref _id, "channel");
            if (_completed) throw SendClosed();
            if (TryTakeSlotLocked())
            {
                w = null!;
            }
            else
            {
                w = new PrimitiveWait<Unit>(task, _sendSide);
                _senders.Enqueue(w);
            }
        }
        if (w is null) return new ValueTask<SendPermit<T>>(MakePermit(cx));
        PrimitiveSupport.Park(w, "channel-send", _id);
        return ReserveSlow(cx, w);
    }

    private async ValueTask<SendPermit<T>> ReserveSlow(Cx cx, PrimitiveWait<Unit> w)
    {
        await w.AsUntypedValueTask();
        return MakePermit(cx);
    }

    internal bool TryReserve(Cx cx, out SendPermit<T>? permit)
    {
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(cx.Task, ref _id, "channel");
            if (_completed || !TryTakeSlotLocked())
            {
                permit = null;
                return false;
            }
        }
        permit = MakePermit(cx);
        return true;
    }

    private SendPermit<T> MakePermit(Cx cx)
    {
        var permit = new SendPermit<T>(this);
        try
        {
            permit.Obligation = cx.Reserve(ObligationKind.SendPermit, "channel slot", (IObligationHook)permit);
        }
        catch
        {
            ReleaseReserved();
            throw;
        }
        return permit;
    }

    /// <summary>A reserved slot becomes an item (the permit's Send, or a send wait that was granted a slot).</summary>
    internal void CommitReserved(T item)
    {
        var fx = default(Effects);
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "channel");
            PushReservedLocked(item, ref fx);
        }
        Apply(fx);
    }

    /// <summary>A reserved slot is given back unused (permit aborted, leaked or disposed).</summary>
    internal void ReleaseReserved()
    {
        var fx = default(Effects);
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "channel");
            Debug.Assert(_reserved > 0);
            _reserved--;
            FreeSlotLocked(ref fx);
        }
        Apply(fx);
    }

    private bool TryTakeSlotLocked()
    {
        if (_evictOldest)
        {
            // A ring never makes a sender wait: the slot is taken now, and the push evicts if the buffer is full.
            _reserved++;
            return true;
        }
        // FIFO: a newcomer never overtakes a queued sender (and a queued sender means the channel is full).
        if (!_senders.IsEmpty || Occupied >= _capacity) return false;
        _reserved++;
        return true;
    }

    private void PushReservedLocked(T item, ref Effects fx)
    {
        Debug.Assert(_reserved > 0);
        _reserved--;
        if (_receiverClosed)
        {
            // Nobody will ever read it: a permit's Send cannot fail, so the item is dropped.
            FreeSlotLocked(ref fx);
            return;
        }
        if (_receivers.Dequeue() is { } r)
        {
            Debug.Assert(_items.Count == 0);
            r.Grant(item);
            _inflight++;
            fx.Receive = r;
            return;
        }
        if (_evictOldest && _items.Count >= _capacity)
        {
            _items.PopFront();
            _evicted++;
        }
        _items.PushBack(item);
        CollectReadyLocked(ref fx);
    }

    /// <summary>One slot became free: hand it to the oldest send wait, or fail receivers if the channel is drained.</summary>
    private void FreeSlotLocked(ref Effects fx)
    {
        if (!_completed && Occupied < _capacity && _senders.Dequeue() is { } s)
        {
            _reserved++;
            s.Grant(default);
            fx.Send = s;
        }
        if (DrainedLocked && !_receivers.IsEmpty) fx.FailReceives = _receivers.DrainAll();
        CollectReadyLocked(ref fx);
    }

    // ------------------------------------------------------------------ readiness (select)

    /// <summary>
    /// Registers a one-shot readiness watcher. Returns false (and registers nothing) when the channel is ready
    /// now: an item is buffered, or it is drained.
    /// </summary>
    internal bool WatchReady(IReadyWatcher watcher)
    {
        lock (_gate)
        {
            PrimitiveSupport.Touch(null, ref _id, "channel");
            if (_items.Count > 0 || DrainedLocked) return false;
            (_watchers ??= new List<IReadyWatcher>()).Add(watcher);
            return true;
        }
    }

    /// <summary>Registered readiness watchers (for tests: a cancelled select leaves none behind).</summary>
    internal int WatcherCount
    {
        get { lock (_gate) return _watchers?.Count ?? 0; }
    }

    internal void UnwatchReady(IReadyWatcher watcher)
    {
        lock (_gate) _watchers?.Remove(watcher);
    }

    /// <summary>Hands the watchers to <paramref name="fx"/> when the channel became ready. Caller holds the lock.</summary>
    private void CollectReadyLocked(ref Effects fx)
    {
        if (_watchers is not { Count: > 0 } || (_items.Count == 0 && !DrainedLocked)) return;
        if (fx.Ready is null) fx.Ready = _watchers;
        else fx.Ready.AddRange(_watchers);
        _watchers = null;
    }

    /// <summary>Takes the front item if one is buffered; otherwise says whether the channel is drained (its end reached).</summary>
    internal bool TryReceiveOrDrained(out T item, out bool drained)
    {
        var fx = default(Effects);
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "channel");
            if (_items.Count == 0)
            {
                item = default!;
                drained = DrainedLocked;
                return false;
            }
            drained = false;
            item = _items.PopFront();
            FreeSlotLocked(ref fx);
        }
        Apply(fx);
        return true;
    }

    /// <summary>The error the channel was completed or closed with, if any.</summary>
    internal Exception? Error
    {
        get { lock (_gate) return _error; }
    }

    /// <summary>Reads the front item without taking it.</summary>
    internal bool TryPeek(out T item)
    {
        lock (_gate)
        {
            PrimitiveSupport.Touch(null, ref _id, "channel");
            if (_items.Count == 0)
            {
                item = default!;
                return false;
            }
            item = _items.PeekAt(0);
            return true;
        }
    }

    // ------------------------------------------------------------------ receive side

    /// <summary>
    /// Receives an item. With <paramref name="holdSlot"/> (receive-with-ack) the item keeps its slot until
    /// <see cref="Ack"/> or <see cref="Nack"/>, so a redelivery never exceeds the capacity.
    /// </summary>
    internal ValueTask<T> ReceiveAsync(Cx cx, bool holdSlot = false)
    {
        var task = cx.Task;
        task.Checkpoint();
        var fx = default(Effects);
        PrimitiveWait<T> w;
        T item;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(task, ref _id, "channel");
            if (_items.Count > 0)
            {
                item = _items.PopFront();
                if (holdSlot) _unacked++;
                else FreeSlotLocked(ref fx);
                w = null!;
            }
            else if (DrainedLocked)
            {
                throw ReceiveClosed();
            }
            else
            {
                item = default!;
                w = new PrimitiveWait<T>(task, this) { Request = holdSlot ? 1 : 0 };
                _receivers.Enqueue(w);
            }
        }
        if (w is null)
        {
            Apply(fx);
            return new ValueTask<T>(item);
        }
        PrimitiveSupport.Park(w, "channel-receive", _id);
        return w.AsValueTask();
    }

    internal bool TryReceive(out T item, bool holdSlot = false)
    {
        var fx = default(Effects);
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "channel");
            if (_items.Count == 0)
            {
                item = default!;
                return false;
            }
            item = _items.PopFront();
            if (holdSlot) _unacked++;
            else FreeSlotLocked(ref fx);
        }
        Apply(fx);
        return true;
    }

    /// <summary>A held delivery was acknowledged: its slot is free.</summary>
    internal void Ack()
    {
        var fx = default(Effects);
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "channel");
            Debug.Assert(_unacked > 0);
            _unacked--;
            FreeSlotLocked(ref fx);
        }
        Apply(fx);
    }

    /// <summary>A held delivery was rejected: the item is redelivered first (it keeps its slot).</summary>
    internal void Nack(T item)
    {
        var fx = default(Effects);
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "channel");
            Debug.Assert(_unacked > 0);
            _unacked--;
            ReturnItemLocked(item, ref fx);
        }
        Apply(fx);
    }

    /// <summary>
    /// An item taken but not consumed (nacked, or handed to a receive cancelled in that instant) goes to the next
    /// receive, else back to the front (it is older than everything buffered); with the receiver closed, its slot
    /// is freed. Caller holds the lock.
    /// </summary>
    private void ReturnItemLocked(T item, ref Effects fx)
    {
        if (_receiverClosed)
        {
            FreeSlotLocked(ref fx);
        }
        else if (_receivers.Dequeue() is { } next)
        {
            next.Grant(item);
            _inflight++;
            fx.Receive = next;
        }
        else if (_evictOldest && _items.Count >= _capacity)
        {
            // The returned item is the oldest of a full ring: it is the one evicted.
            _evicted++;
        }
        else
        {
            _items.PushFront(item);
            CollectReadyLocked(ref fx);
        }
    }

    void IWaitOwner<T>.OnWaitInterrupted(PrimitiveWait<T> wait)
    {
        PrimitiveSupport.Touch(null, ref _id, "channel");
        var fx = default(Effects);
        lock (_gate)
        {
            if (wait.Granted)
            {
                // The item was handed to this receive in the instant it was cancelled. It must not be lost:
                // give it to the next receive, or put it back at the front (it is older than everything buffered).
                _inflight--;
                var item = wait.Value;
                wait.Value = default!;
                ReturnItemLocked(item, ref fx);
            }
            else
            {
                _receivers.Remove(wait);
            }
            AssertInvariants();
        }
        Apply(fx);
    }

    private void OnSendWaitInterrupted(PrimitiveWait<Unit> wait)
    {
        PrimitiveSupport.Touch(null, ref _id, "channel");
        var fx = default(Effects);
        lock (_gate)
        {
            if (wait.Granted)
            {
                // A slot was reserved for this send in the instant it was cancelled: pass it on.
                _reserved--;
                FreeSlotLocked(ref fx);
            }
            else
            {
                _senders.Remove(wait);
            }
            AssertInvariants();
        }
        Apply(fx);
    }

    // ------------------------------------------------------------------ close

    internal void AddSenderHandle()
    {
        lock (_gate)
        {
            if (_senderHandles == 0) throw new ObjectDisposedException(nameof(Sender<T>), "Every sender of this channel was disposed.");
            _senderHandles++;
        }
    }

    internal void ReleaseSenderHandle()
    {
        bool last;
        lock (_gate) last = --_senderHandles == 0;
        if (last) Complete(null);
    }

    /// <summary>The senders are done: no new sends; the receiver drains what is buffered or reserved, then sees the end.</summary>
    internal bool Complete(Exception? error)
    {
        var fx = default(Effects);
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "channel");
            if (_completed) return false;
            _completed = true;
            _error = error;
            if (!_senders.IsEmpty) fx.FailSends = _senders.DrainAll();
            if (DrainedLocked && !_receivers.IsEmpty) fx.FailReceives = _receivers.DrainAll();
            CollectReadyLocked(ref fx);
        }
        Apply(fx);
        return true;
    }

    /// <summary>The receiver is gone: buffered items are dropped, sends fail, outstanding permits' sends are dropped.</summary>
    internal bool CloseReceiver(Exception? error)
    {
        var fx = default(Effects);
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "channel");
            if (_receiverClosed) return false;
            _receiverClosed = true;
            if (!_completed)
            {
                _completed = true;
                _error = error;
            }
            _items.Clear();
            if (!_senders.IsEmpty) fx.FailSends = _senders.DrainAll();
            if (!_receivers.IsEmpty) fx.FailReceives = _receivers.DrainAll();
            CollectReadyLocked(ref fx);
        }
        Apply(fx);
        return true;
    }

    private ChannelClosedException SendClosed() =>
        new(_receiverClosed ? "The channel's receiver is closed" : "The channel was completed by its senders", _error);

    private ChannelClosedException ReceiveClosed() =>
        new(_receiverClosed ? "The channel's receiver is closed" : "The channel is completed and empty", _error);

    // ------------------------------------------------------------------ after the lock

    private void Apply(Effects fx)
    {
        while (true)
        {
            if (fx.Ready is { } ready)
            {
                foreach (var w in ready) w.OnReady();
            }
            fx.Send?.Deliver(); // on failure the interrupt handler owns the slot
            if (fx.FailSends is { } fs)
            {
                foreach (var w in fs) w.TrySetException(SendClosedSnapshot());
            }
            if (fx.FailReceives is { } fr)
            {
                foreach (var w in fr) w.TrySetException(ReceiveClosedSnapshot());
            }
            if (fx.Receive is { } r && r.Deliver())
            {
                // The item is taken: its slot is free now (or held until acknowledged).
                var more = default(Effects);
                lock (_gate)
                {
                    _inflight--;
                    if (r.Request == 1) _unacked++;
                    else FreeSlotLocked(ref more);
                    AssertInvariants();
                }
                fx = more;
                continue;
            }
            return;
        }
    }

    private ChannelClosedException SendClosedSnapshot()
    {
        lock (_gate) return SendClosed();
    }

    private ChannelClosedException ReceiveClosedSnapshot()
    {
        lock (_gate) return ReceiveClosed();
    }

    private void AssertInvariants()
    {
        PrimitiveSupport.Invariant(_reserved >= 0 && _inflight >= 0 && _unacked >= 0, ref _id, "ChannelAtomicity", "slot counts never go negative");
        PrimitiveSupport.Invariant((_evictOldest ? _items.Count <= _capacity : Occupied <= _capacity) || _receiverClosed, ref _id, "ChannelAtomicity", "slots never exceed the capacity");
        PrimitiveSupport.Invariant(_receivers.IsEmpty || _items.Count == 0, ref _id, "LostWakeup", "a receive waits only on an empty buffer");
        PrimitiveSupport.Invariant(_senders.IsEmpty || Occupied >= _capacity, ref _id, "LostWakeup", "a send waits only on a full channel");
        PrimitiveSupport.Invariant(!_completed || _senders.IsEmpty, ref _id, "LostWakeup", "no send waits on a completed channel");
    }

    // A receive waits on whoever holds a sender handle, a send on whoever holds the receiver: handles are not tied
    // to tasks, so the other side is anonymous — known only in a closed world (the Lab, stuck).
    bool IWaitForResource.AddHolders(object wait, List<TaskCore> into, out string resource) => AddOtherSide(wait, send: false, into, out resource);

    private bool AddOtherSide(object wait, bool send, List<TaskCore> into, out string resource)
    {
        resource = WaitForGraph.Name(send ? "channel-send" : "channel-receive", _id, this);
        TaskCore waiter;
        lock (_gate)
        {
            if (send)
            {
                var w = (PrimitiveWait<Unit>)wait;
                if (!w.Queued) return false;
                waiter = w.Task;
            }
            else
            {
                var w = (PrimitiveWait<T>)wait;
                if (!w.Queued) return false;
                waiter = w.Task;
            }
        }
        return WaitForGraph.AnyOtherTask(waiter, into);
    }

    private sealed class SendSide : IWaitOwner<Unit>, IWaitForResource
    {
        private readonly MpscCore<T> _core;

        internal SendSide(MpscCore<T> core) => _core = core;

        public void OnWaitInterrupted(PrimitiveWait<Unit> wait) => _core.OnSendWaitInterrupted(wait);

        bool IWaitForResource.AddHolders(object wait, List<TaskCore> into, out string resource) => _core.AddOtherSide(wait, send: true, into, out resource);
    }
}

/// <summary>Told once when a channel it watches becomes ready (an item buffered, or the end reached). Called outside the channel's lock; must be quick.</summary>
internal interface IReadyWatcher
{
    void OnReady();
}
