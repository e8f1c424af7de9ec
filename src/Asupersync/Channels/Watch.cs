using Asupersync.Kernel;
using Asupersync.Sync;

namespace Asupersync.Channels;

/// <summary>Creates watch channels: a single current value that receivers can read and wait to change.</summary>
/// <example>
/// <code>
/// var (tx, rx) = Watch.Create(new Config());
/// cx.Spawn("reloader", async cx => { while (true) { await rx.ChangedAsync(cx); Apply(rx.Borrow()); } });
/// tx.Send(LoadConfig());
/// </code>
/// </example>
public static class Watch
{
    /// <summary>Creates a watch channel holding <paramref name="initial"/>.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="initial">The initial value (receivers have "seen" it).</param>
    /// <returns>The sender and a first receiver (more with <see cref="WatchSender{T}.Subscribe"/>).</returns>
    public static (WatchSender<T> Sender, WatchReceiver<T> Receiver) Create<T>(T initial)
    {
        var core = new WatchCore<T>(initial);
        return (new WatchSender<T>(core), new WatchReceiver<T>(core, 0));
    }
}

/// <summary>The sending side of a watch channel.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class WatchSender<T> : IDisposable
{
    private readonly WatchCore<T> _core;

    internal WatchSender(WatchCore<T> core) => _core = core;

    /// <summary>Replaces the value and wakes every receiver waiting in <see cref="WatchReceiver{T}.ChangedAsync"/>. Never waits.</summary>
    /// <param name="value">The new value.</param>
    /// <exception cref="ChannelClosedException">The channel was closed.</exception>
    public void Send(T value) => _core.Send(value);

    /// <summary>The current value.</summary>
    /// <returns>The value.</returns>
    public T Borrow() => _core.Borrow(out _);

    /// <summary>A new receiver that has seen the current value.</summary>
    /// <returns>The receiver.</returns>
    public WatchReceiver<T> Subscribe()
    {
        _core.Borrow(out var version);
        return new WatchReceiver<T>(_core, version);
    }

    /// <summary>Closes the channel: waiting and later <see cref="WatchReceiver{T}.ChangedAsync"/> calls fail. Idempotent.</summary>
    /// <param name="error">The error to report, or null.</param>
    public void Close(Exception? error = null) => _core.Close(error);

    /// <summary>Closes the channel. Idempotent.</summary>
    public void Dispose() => _core.Close(null);
}

/// <summary>A receiver of a watch channel: reads the current value and waits for changes it has not seen.</summary>
/// <typeparam name="T">The value type.</typeparam>
/// <remarks>
/// Cancel-safe: a cancelled <see cref="ChangedAsync"/> does not mark anything seen, so the change is reported by
/// the next call.
/// </remarks>
public sealed class WatchReceiver<T>
{
    private readonly WatchCore<T> _core;
    private long _seen;

    internal WatchReceiver(WatchCore<T> core, long seen)
    {
        _core = core;
        _seen = seen;
    }

    /// <summary>True when the value changed since this receiver last marked it seen.</summary>
    public bool HasChanged => _core.Version != _seen;

    /// <summary>The current value (does not mark it seen).</summary>
    /// <returns>The value.</returns>
    public T Borrow() => _core.Borrow(out _);

    /// <summary>The current value, marked as seen.</summary>
    /// <returns>The value.</returns>
    public T BorrowAndUpdate() => _core.Borrow(out _seen);

    /// <summary>
    /// Waits until the value changes from the one this receiver last saw, then marks the newest value seen. A
    /// checkpoint; cancel-safe.
    /// </summary>
    /// <param name="cx">The waiting task's context.</param>
    /// <returns>A task completing on a change.</returns>
    /// <exception cref="ChannelClosedException">The sender closed the channel with no unseen change left.</exception>
    public async ValueTask ChangedAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        if (ChoicePoint.IsActive(cx.Task)) await ChoicePoint.YieldAsync(cx.Task);
        while (true)
        {
            if (_core.TryTakeChange(ref _seen)) return;
            await _core.WaitAsync(cx, _seen);
        }
    }

    /// <summary>A new receiver with this one's seen version.</summary>
    /// <returns>The clone.</returns>
    public WatchReceiver<T> Clone() => new(_core, _seen);
}

internal sealed class WatchCore<T> : ChangeNotifier
{
    private T _value;
    private long _version;

    internal WatchCore(T initial) : base("watch") => _value = initial;

    internal long Version
    {
        get { lock (Gate) return _version; }
    }

    protected override bool ChangedSinceLocked(long mark) => _version != mark;

    internal T Borrow(out long version)
    {
        lock (Gate)
        {
            Touch(null);
            version = _version;
            return _value;
        }
    }

    internal void Send(T value)
    {
        List<PrimitiveWait<Unit>> wake;
        lock (Gate)
        {
            Touch(null);
            if (Closed) throw ClosedException();
            _value = value;
            _version++;
            wake = TakeWaitersLocked();
        }
        Wake(wake); // a hint to re-check the version: nothing to hand on if cancelled
    }

    internal bool TryTakeChange(ref long seen)
    {
        lock (Gate)
        {
            Touch(null);
            if (_version != seen)
            {
                seen = _version;
                return true;
            }
            if (Closed) throw ClosedException();
            return false;
        }
    }
}
