using Asupersync.Kernel;
using Asupersync.Sync;

namespace Asupersync.Channels;

/// <summary>Creates broadcast channels: every receiver sees every value sent after it subscribed.</summary>
/// <example>
/// <code>
/// var events = Broadcast.Create&lt;string&gt;(capacity: 64);
/// var sub = events.Subscribe();
/// events.Send("started");
/// var m = await sub.ReceiveAsync(cx);
/// if (m.Missed &gt; 0) Log($"fell behind by {m.Missed}");
/// </code>
/// </example>
public static class Broadcast
{
    /// <summary>Creates a broadcast channel that keeps the last <paramref name="capacity"/> values.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="capacity">How many values are retained for slow receivers; at least 1.</param>
    /// <returns>The sender; call <see cref="BroadcastSender{T}.Subscribe"/> for receivers.</returns>
    public static BroadcastSender<T> Create<T>(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        return new BroadcastSender<T>(new BroadcastCore<T>(capacity));
    }
}

/// <summary>A value from a broadcast channel, and how many values the receiver missed just before it.</summary>
/// <typeparam name="T">The value type.</typeparam>
/// <param name="Value">The value.</param>
/// <param name="Missed">Values overwritten before this receiver read them (0 when it kept up).</param>
public readonly record struct BroadcastMessage<T>(T Value, long Missed);

/// <summary>The sending side of a broadcast channel. Sends never wait: the oldest value is overwritten.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class BroadcastSender<T> : IDisposable
{
    private readonly BroadcastCore<T> _core;

    internal BroadcastSender(BroadcastCore<T> core) => _core = core;

    /// <summary>A new receiver that sees values sent from now on.</summary>
    /// <returns>The receiver.</returns>
    public BroadcastReceiver<T> Subscribe() => new(_core, _core.Tail);

    /// <summary>Sends to every receiver; never waits. Slow receivers may miss old values (they are told how many).</summary>
    /// <param name="value">The value.</param>
    /// <exception cref="ChannelClosedException">The channel was closed.</exception>
    public void Send(T value) => _core.Send(value);

    /// <summary>Closes the channel: receivers read what is retained, then get <see cref="ChannelClosedException"/> (with <paramref name="error"/> inside). Idempotent.</summary>
    /// <param name="error">The error to report, or null for a normal end.</param>
    public void Close(Exception? error = null) => _core.Close(error);

    /// <summary>Closes the channel normally. Idempotent.</summary>
    public void Dispose() => _core.Close(null);
}

/// <summary>A subscriber of a broadcast channel with its own read position.</summary>
/// <typeparam name="T">The value type.</typeparam>
/// <remarks>
/// Cancel-safe: a cancelled <see cref="ReceiveAsync"/> leaves the read position where it was, so the value it
/// was waiting for is read by the next call.
/// </remarks>
public sealed class BroadcastReceiver<T>
{
    private readonly BroadcastCore<T> _core;
    private long _next;

    internal BroadcastReceiver(BroadcastCore<T> core, long next)
    {
        _core = core;
        _next = next;
    }

    /// <summary>Receives the next value, waiting if there is none. A checkpoint; cancel-safe.</summary>
    /// <param name="cx">The receiving task's context.</param>
    /// <returns>The value and how many values were missed before it.</returns>
    /// <exception cref="ChannelClosedException">The channel is closed and everything retained was read.</exception>
    public async ValueTask<BroadcastMessage<T>> ReceiveAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        if (ChoicePoint.IsActive(cx.Task)) await ChoicePoint.YieldAsync(cx.Task);
        while (true)
        {
            if (_core.TryRead(ref _next, out var message)) return message;
            await _core.WaitAsync(cx, _next);
        }
    }

    /// <summary>
    /// Reads values until the channel is closed: the sequence ends normally on a normal close and throws
    /// <see cref="ChannelClosedException"/> when it was closed with an error.
    /// </summary>
    /// <param name="cx">The reading task's context.</param>
    /// <param name="cancellationToken">Ignored (cancellation comes through <paramref name="cx"/>); present for <c>WithCancellation</c>.</param>
    /// <returns>The values with their missed counts.</returns>
    public async IAsyncEnumerable<BroadcastMessage<T>> ReadAllAsync(Cx cx, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cx);
        while (true)
        {
            BroadcastMessage<T> m;
            try
            {
                m = await ReceiveAsync(cx);
            }
            catch (ChannelClosedException e) when (e.Error is null)
            {
                yield break;
            }
            yield return m;
        }
    }

    /// <summary>Reads the next value if there is one; never waits.</summary>
    /// <param name="message">The value and the missed count.</param>
    /// <returns>True when a value was read.</returns>
    public bool TryReceive(out BroadcastMessage<T> message) => _core.TryRead(ref _next, out message);

    /// <summary>A new receiver at this one's position.</summary>
    /// <returns>The clone.</returns>
    public BroadcastReceiver<T> Clone() => new(_core, _next);
}

internal sealed class BroadcastCore<T> : ChangeNotifier
{
    private readonly T[] _ring;
    private long _tail; // sequence number of the next value

    internal BroadcastCore(int capacity) : base("broadcast") => _ring = new T[capacity];

    internal long Tail
    {
        get { lock (Gate) return _tail; }
    }

    protected override bool ChangedSinceLocked(long mark) => mark < _tail;

    internal void Send(T value)
    {
        List<PrimitiveWait<Unit>> wake;
        lock (Gate)
        {
            Touch(null);
            if (Closed) throw ClosedException();
            _ring[_tail % _ring.Length] = value;
            _tail++;
            wake = TakeWaitersLocked();
        }
        // Waking is only a hint to re-read the ring: a receiver cancelled in this instant loses nothing.
        Wake(wake);
    }

    internal bool TryRead(ref long next, out BroadcastMessage<T> message)
    {
        lock (Gate)
        {
            Touch(null);
            if (next >= _tail)
            {
                if (Closed) throw ClosedException();
                message = default;
                return false;
            }
            long oldest = Math.Max(0, _tail - _ring.Length);
            long missed = 0;
            if (next < oldest)
            {
                missed = oldest - next;
                next = oldest;
            }
            message = new BroadcastMessage<T>(_ring[next % _ring.Length], missed);
            next++;
            return true;
        }
    }
}
