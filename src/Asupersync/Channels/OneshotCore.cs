using System.Diagnostics;
using Asupersync.Kernel;
using Asupersync.Sync;

namespace Asupersync.Channels;

/// <summary>The state machine of a oneshot channel; one lock, waits completed outside it.</summary>
internal sealed class OneshotCore<T> : IWaitOwner<T>
{
    private enum State { Empty, Reserved, Full, Taken, Closed }

    private readonly Lock _gate = new();
    private readonly WaitQueue<T> _receivers = new();
    private State _state;
    private T _value = default!;
    private bool _senderGone;
    private bool _receiverGone;
    private Exception? _error;
    private long _id;

    internal bool IsReceiverClosed
    {
        get { lock (_gate) return _receiverGone; }
    }

    internal int WaitingReceivers
    {
        get { lock (_gate) return _receivers.Count; }
    }

    internal bool HasValue
    {
        get { lock (_gate) return _state == State.Full; }
    }

    // ------------------------------------------------------------------ sender

    internal OneshotPermit<T> Reserve(Cx cx)
    {
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(cx.Task, ref _id, "oneshot");
            if (_receiverGone) throw new ChannelClosedException("The oneshot's receiver is closed", _error);
            if (_senderGone) throw new ObjectDisposedException(nameof(OneshotSender<T>));
            if (_state != State.Empty) throw new InvalidOperationException("The oneshot was already used or reserved.");
            _state = State.Reserved;
        }
        var permit = new OneshotPermit<T>(this);
        try
        {
            permit.Obligation = cx.Reserve(ObligationKind.SendPermit, "oneshot slot", permit.OnResolved);
        }
        catch
        {
            Unreserve();
            throw;
        }
        return permit;
    }

    internal bool TrySend(T value)
    {
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "oneshot");
            if (_receiverGone || _senderGone || _state != State.Empty) return false;
            _state = State.Reserved;
        }
        Fill(value);
        return true;
    }

    internal void Fill(T value)
    {
        PrimitiveWait<T>? r = null;
        lock (_gate)
        {
            AssertInvariants();
            Debug.Assert(_state == State.Reserved);
            PrimitiveSupport.Touch(null, ref _id, "oneshot");
            if (_receiverGone)
            {
                _state = State.Closed; // nobody will read it: dropped
            }
            else if (_receivers.Dequeue() is { } w)
            {
                _state = State.Taken;
                w.Grant(value);
                r = w;
            }
            else
            {
                _state = State.Full;
                _value = value;
            }
        }
        r?.Deliver();
    }

    internal void Unreserve()
    {
        List<PrimitiveWait<T>>? fail = null;
        lock (_gate)
        {
            AssertInvariants();
            Debug.Assert(_state == State.Reserved);
            PrimitiveSupport.Touch(null, ref _id, "oneshot");
            _state = _senderGone ? State.Closed : State.Empty;
            if (_state == State.Closed && !_receivers.IsEmpty) fail = _receivers.DrainAll();
        }
        PrimitiveSupport.FailAll(fail, ClosedForReceiver);
    }

    internal void CloseSender(Exception? error)
    {
        List<PrimitiveWait<T>>? fail = null;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "oneshot");
            if (_senderGone) return;
            _senderGone = true;
            _error ??= error;
            if (_state == State.Empty)
            {
                _state = State.Closed;
                if (!_receivers.IsEmpty) fail = _receivers.DrainAll();
            }
        }
        PrimitiveSupport.FailAll(fail, ClosedForReceiver);
    }

    // ------------------------------------------------------------------ receiver

    internal ValueTask<T> ReceiveAsync(Cx cx)
    {
        var task = cx.Task;
        task.Checkpoint();
        PrimitiveWait<T> w;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(task, ref _id, "oneshot");
            switch (_state)
            {
                case State.Full:
                    var v = _value;
                    _value = default!;
                    _state = State.Taken;
                    return new ValueTask<T>(v);
                case State.Taken:
                    throw new InvalidOperationException("The oneshot's value was already received.");
                case State.Closed:
                    throw ClosedForReceiverLocked();
            }
            if (_receiverGone) throw ClosedForReceiverLocked();
            w = new PrimitiveWait<T>(task, this);
            _receivers.Enqueue(w);
        }
        PrimitiveSupport.Park(w, "oneshot-receive", _id);
        return w.AsValueTask();
    }

    internal bool TryReceive(out T value)
    {
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "oneshot");
            if (_state != State.Full)
            {
                value = default!;
                return false;
            }
            value = _value;
            _value = default!;
            _state = State.Taken;
            return true;
        }
    }

    internal void CloseReceiver(Exception? error)
    {
        List<PrimitiveWait<T>>? fail = null;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(null, ref _id, "oneshot");
            if (_receiverGone) return;
            _receiverGone = true;
            _error ??= error;
            if (_state == State.Full)
            {
                _value = default!;
                _state = State.Closed;
            }
            if (!_receivers.IsEmpty) fail = _receivers.DrainAll();
        }
        PrimitiveSupport.FailAll(fail, ClosedForReceiver);
    }

    void IWaitOwner<T>.OnWaitInterrupted(PrimitiveWait<T> wait)
    {
        PrimitiveSupport.Touch(null, ref _id, "oneshot");
        PrimitiveWait<T>? next = null;
        lock (_gate)
        {
            if (wait.Granted)
            {
                // Handed over in the instant of the cancel: the value stays for the next receive.
                var v = wait.Value;
                wait.Value = default!;
                if (_receivers.Dequeue() is { } n)
                {
                    n.Grant(v);
                    next = n;
                }
                else if (!_receiverGone)
                {
                    _value = v;
                    _state = State.Full;
                }
                else
                {
                    _state = State.Closed;
                }
            }
            else
            {
                _receivers.Remove(wait);
            }
            AssertInvariants();
        }
        next?.Deliver();
    }

    private Exception ClosedForReceiver()
    {
        lock (_gate) return ClosedForReceiverLocked();
    }

    private ChannelClosedException ClosedForReceiverLocked() =>
        new(_receiverGone ? "The oneshot's receiver is closed" : "The oneshot's sender went away without sending", _error);

    private void AssertInvariants()
    {
        PrimitiveSupport.Invariant(_receivers.IsEmpty || _state is State.Empty or State.Reserved, ref _id, "LostWakeup", "a receive waits only while no value is there");
    }
}
