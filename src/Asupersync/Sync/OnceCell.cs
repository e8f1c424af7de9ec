using Asupersync.Kernel;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Asupersync.Sync;

/// <summary>
/// A value initialised at most once, asynchronously. Concurrent callers of <see cref="GetOrInitAsync"/> wait for
/// the one running initialiser; if that initialiser fails or is cancelled, the cell stays empty and the next
/// caller runs its own initialiser (a failed or cancelled init never poisons the cell).
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
/// <remarks>
/// The initialiser runs inside the calling task (it is not spawned), so it is cancelled with that task. Waiting
/// callers are cancel-safe: a cancelled waiter changes nothing.
/// </remarks>
/// <example>
/// <code>
/// static readonly OnceCell&lt;Config&gt; s_config = new();
/// var config = await s_config.GetOrInitAsync(cx, cx => LoadConfigAsync(cx));
/// </code>
/// </example>
public sealed class OnceCell<T> : IWaitOwner<bool>
{
    private readonly Lock _gate = new();
    private readonly WaitQueue<bool> _waiters = new();
    private bool _set;
    private bool _initializing;
    private T _value = default!;
    private long _id;

    /// <summary>Creates an empty cell.</summary>
    public OnceCell() { }

    /// <summary>True once a value is set.</summary>
    public bool IsInitialized
    {
        get { lock (_gate) return _set; }
    }

    /// <summary>The value if set.</summary>
    /// <param name="value">The value.</param>
    /// <returns>True when set.</returns>
    public bool TryGet([MaybeNullWhen(false)] out T value)
    {
        lock (_gate)
        {
            value = _value;
            return _set;
        }
    }

    /// <summary>Sets the value if the cell is empty and no initialiser is running.</summary>
    /// <param name="value">The value.</param>
    /// <returns>True when this call set it.</returns>
    public bool TrySet(T value)
    {
        List<PrimitiveWait<bool>>? wake;
        lock (_gate)
        {
            PrimitiveSupport.Touch(null, ref _id, "once-cell");
            if (_set || _initializing) return false;
            _value = value;
            _set = true;
            wake = GrantAllLocked(true);
        }
        Deliver(wake);
        return true;
    }

    /// <summary>
    /// Returns the value, running <paramref name="init"/> if the cell is empty and nobody else is initialising
    /// it, or waiting for the running initialiser. A checkpoint; cancel-safe while waiting.
    /// </summary>
    /// <param name="cx">The calling task's context (the initialiser runs in this task).</param>
    /// <param name="init">Computes the value; if it throws or is cancelled the cell stays empty.</param>
    /// <returns>The value.</returns>
    public async ValueTask<T> GetOrInitAsync(Cx cx, Func<Cx, Task<T>> init)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(init);
        if (ChoicePoint.IsActive(cx.Task)) await ChoicePoint.YieldAsync(cx.Task);
        while (true)
        {
            cx.Task.Checkpoint();
            PrimitiveWait<bool>? w = null;
            lock (_gate)
            {
                AssertInvariants();
                PrimitiveSupport.Touch(cx.Task, ref _id, "once-cell");
                if (_set) return _value;
                if (_initializing)
                {
                    w = new PrimitiveWait<bool>(cx.Task, this);
                    _waiters.Enqueue(w);
                }
                else
                {
                    _initializing = true;
                }
            }
            if (w is not null)
            {
                PrimitiveSupport.Park(w, "once-cell", _id);
                await w.AsValueTask(); // true: set; false: the initialiser failed, compete again
                continue;
            }

            T value;
            try
            {
                value = await init(cx);
            }
            catch
            {
                List<PrimitiveWait<bool>>? retry;
                lock (_gate)
                {
                    PrimitiveSupport.Touch(cx.Task, ref _id, "once-cell");
                    _initializing = false;
                    retry = GrantAllLocked(false);
                }
                Deliver(retry);
                throw;
            }
            List<PrimitiveWait<bool>>? done;
            lock (_gate)
            {
                PrimitiveSupport.Touch(cx.Task, ref _id, "once-cell");
                _value = value;
                _set = true;
                _initializing = false;
                done = GrantAllLocked(true);
            }
            Deliver(done);
            return value;
        }
    }

    private List<PrimitiveWait<bool>>? GrantAllLocked(bool set)
    {
        if (_waiters.IsEmpty) return null;
        var all = _waiters.DrainAll();
        foreach (var w in all) w.Grant(set);
        return all;
    }

    private static void Deliver(List<PrimitiveWait<bool>>? waits)
    {
        if (waits is null) return;
        foreach (var w in waits) w.Deliver();
    }

    void IWaitOwner<bool>.OnWaitInterrupted(PrimitiveWait<bool> wait)
    {
        PrimitiveSupport.Touch(null, ref _id, "once-cell");
        // Every waiter is woken on each state change, so a cancelled one holds nothing another needs.
        lock (_gate) _waiters.Remove(wait);
    }

    private void AssertInvariants() => PrimitiveSupport.Invariant(!(_set && _initializing) && (_initializing || _set || _waiters.IsEmpty), ref _id, "LostWakeup", "waiters wait only on a running initialiser");
}
