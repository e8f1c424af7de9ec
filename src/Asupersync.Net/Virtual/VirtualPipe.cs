using Asupersync.Kernel;

namespace Asupersync.Net.Virtual;

/// <summary>
/// One direction of a virtual connection: bytes written at one end become readable at the other after a
/// seeded latency, in order, split into seeded segment sizes. Bounded: a writer waits while
/// <see cref="VirtualNetworkOptions.BufferSize"/> bytes are buffered or in flight.
/// </summary>
/// <remarks>All state is under <c>_gate</c>; waiters are completed outside it.</remarks>
internal sealed class VirtualPipe
{
    private readonly object _gate = new();
    private readonly VirtualNetwork _net;
    private readonly Queue<byte[]> _segments = new();
    private int _headOffset;
    private int _buffered;
    private int _inFlight;
    private TimeSpan _lastDelivery;
    private int _onTimers;
    private bool _finQueued, _finDelivered;
    private bool _reset;
    private bool _readerGone;
    private ReadinessOp? _reader, _writer;

    internal VirtualPipe(VirtualNetwork net) => _net = net;

    // ---------------------------------------------------------------- reading end

    /// <summary>True when a byte has been delivered and not read yet (a read now would not wait for data).</summary>
    internal bool HasBufferedBytes
    {
        get { lock (_gate) return _buffered > 0; }
    }

    internal async ValueTask<int> ReadAsync(Cx cx, Memory<byte> dest, TimeSpan? deadline)
    {
        while (true)
        {
            ReadinessOp? wakeWriter = null;
            ReadinessOp op;
            int got = -1;
            lock (_gate)
            {
                if (_buffered > 0)
                {
                    int available = Math.Min(dest.Length, _buffered);
                    var into = dest.Span;
                    if (available > 1 && _net.Chaos(IoFault.ShortRead, cx, "read")) into = into[..(1 + _net.DrawChaos(available - 1))];
                    got = CopyOutLocked(into);
                    wakeWriter = _writer;
                    _writer = null;
                }
                else if (_reset)
                {
                    throw NetErrors.Reset();
                }
                else if (_finDelivered)
                {
                    return 0;
                }
                else if (_readerGone)
                {
                    throw NetErrors.ClosedLocally();
                }
                else if (deadline is { } d && d <= _net.Runtime.Now)
                {
                    throw new TimeoutException("The network operation did not complete within its budget.");
                }
                else
                {
                    op = new ReadinessOp(cx.Task, o => { lock (_gate) if (ReferenceEquals(_reader, o)) _reader = null; });
                    _reader = op;
                    goto wait;
                }
            }
            wakeWriter?.Wake(); // space freed: outside the lock
            return got;
        wait:
            op.Register();
            if (deadline is { } dl) op.ExpireAt(dl);
            await op.AsUntypedValueTask();
        }
    }

    private int CopyOutLocked(Span<byte> dest)
    {
        int copied = 0;
        while (copied < dest.Length && _segments.Count > 0)
        {
            var seg = _segments.Peek();
            int n = Math.Min(dest.Length - copied, seg.Length - _headOffset);
            seg.AsSpan(_headOffset, n).CopyTo(dest[copied..]);
            copied += n;
            _headOffset += n;
            if (_headOffset == seg.Length)
            {
                _segments.Dequeue();
                _headOffset = 0;
            }
        }
        _buffered -= copied;
        return copied;
    }

    /// <summary>The reading end closed: later writes from the peer fail as a reset would.</summary>
    internal void CloseReader()
    {
        ReadinessOp? w;
        lock (_gate)
        {
            _readerGone = true;
            _segments.Clear();
            _buffered = 0;
            w = _writer;
            _writer = null;
        }
        w?.Wake();
    }

    // ---------------------------------------------------------------- writing end

    /// <summary>Queues all of <paramref name="data"/>, waiting for space as needed. An interrupted write may have queued a prefix.</summary>
    internal async ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data, TimeSpan? deadline = null)
    {
        while (data.Length > 0)
        {
            ReadinessOp? op = null;
            int take = 0;
            bool reset = false;
            lock (_gate)
            {
                if (_reset) throw NetErrors.Reset();
                if (_finQueued) throw new InvalidOperationException("Write after the sending side was shut down.");
                if (_readerGone) reset = true;
                else
                {
                    int space = _net.Options.BufferSize - _buffered - _inFlight;
                    if (space <= 0)
                    {
                        if (deadline is { } d && d <= _net.Runtime.Now) throw new TimeoutException("The network operation did not complete within its budget.");
                        op = new ReadinessOp(cx.Task, o => { lock (_gate) if (ReferenceEquals(_writer, o)) _writer = null; });
                        _writer = op;
                    }
                    else
                    {
                        take = Math.Min(space, data.Length);
                        _inFlight += take;
                    }
                }
            }
            if (reset)
            {
                Reset();
                throw NetErrors.Reset();
            }
            if (op is not null)
            {
                op.Register();
                if (deadline is { } dl) op.ExpireAt(dl);
                await op.AsUntypedValueTask();
                continue;
            }
            if (_net.Chaos(IoFault.ShortWrite, cx, "write"))
            {
                // Cut partway: a prefix reaches the peer, then the connection resets.
                Send(data.Span[.._net.DrawChaos(take)]);
                Reset();
                throw NetErrors.Reset();
            }
            Send(data.Span[..take]);
            data = data[take..];
            if (_net.DrawFault(_net.Options.ResetProbability) || _net.Chaos(IoFault.ConnectionReset, cx, "write"))
            {
                Reset();
                throw NetErrors.Reset();
            }
        }
    }

    private void Send(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            int seg = Math.Min(bytes.Length, 1 + _net.Draw(_net.Options.MaxSegmentSize));
            var copy = bytes[..seg].ToArray();
            bytes = bytes[seg..];
            Schedule(copy);
        }
    }

    /// <summary>
    /// Delivers a segment (null: FIN) at a seeded time, never before an earlier one. Timers with equal due times
    /// fire in registration order and due times never decrease, so timer deliveries keep their order; a segment
    /// is delivered at once only when its latency is zero and no earlier segment is still on a timer.
    /// </summary>
    private void Schedule(byte[]? segment)
    {
        var rt = _net.Runtime;
        var latency = _net.DrawLatency();
        TimeSpan due;
        bool now;
        lock (_gate)
        {
            var at = rt.Now + latency;
            due = at > _lastDelivery ? at : _lastDelivery;
            _lastDelivery = due;
            now = latency <= TimeSpan.Zero && _onTimers == 0;
            if (!now) _onTimers++;
        }
        if (now) Deliver(segment, fromTimer: false);
        else rt.AddTimer(due, s => Deliver((byte[]?)s, fromTimer: true), segment);
    }

    private void Deliver(byte[]? segment, bool fromTimer)
    {
        ReadinessOp? r;
        lock (_gate)
        {
            if (fromTimer) _onTimers--;
            if (segment is null)
            {
                _finDelivered = true;
            }
            else
            {
                _inFlight -= segment.Length;
                if (_reset || _readerGone) return;
                _segments.Enqueue(segment);
                _buffered += segment.Length;
            }
            r = _reader;
            _reader = null;
        }
        r?.Wake();
    }

    /// <summary>Half-close: a FIN delivered after every byte written before it. Idempotent.</summary>
    internal void ShutdownSend()
    {
        lock (_gate)
        {
            if (_finQueued || _reset) return;
            _finQueued = true;
        }
        Schedule(null);
    }

    /// <summary>RST: both ends see a reset; buffered data is dropped.</summary>
    internal void Reset()
    {
        ReadinessOp? r, w;
        lock (_gate)
        {
            if (_reset) return;
            _reset = true;
            _segments.Clear();
            _buffered = 0;
            r = _reader;
            w = _writer;
            _reader = _writer = null;
        }
        r?.Wake();
        w?.Wake();
    }
}
