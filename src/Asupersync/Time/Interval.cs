using Asupersync.Kernel;
using Asupersync.Sync;

namespace Asupersync;

/// <summary>What an <see cref="Interval"/> does with ticks that were due while nobody was waiting for them.</summary>
public enum MissedTickBehavior
{
    /// <summary>Deliver every missed tick, back to back, until the schedule is caught up; the grid never moves (Tokio's default).</summary>
    Burst,

    /// <summary>Deliver one late tick, then restart the schedule a full period after it: ticks are never closer than the period, and the grid moves.</summary>
    Delay,

    /// <summary>Deliver one late tick, drop the others, and continue on the original grid at its next point after now.</summary>
    Skip,
}

/// <summary>
/// A periodic timer on the runtime clock (virtual in the Lab): <see cref="TickAsync"/> completes at
/// <c>start, start + period, start + 2·period, …</c>, with missed ticks handled by its
/// <see cref="MissedTickBehavior"/>. Create one with <see cref="IntervalExtensions.Interval"/>.
/// </summary>
/// <remarks>
/// <para>Ticks are runtime times, the same model as <see cref="Cx.SleepUntilAsync"/> (an interval is a sleep until
/// its next due time, plus the bookkeeping of which time is next).</para>
/// <para><b>Cancel-safety.</b> A cancel while <see cref="TickAsync"/> waits consumes no tick: the next call waits
/// for the same due time. A tick is consumed only when <see cref="TickAsync"/> returns it.</para>
/// <para>An interval is meant to be ticked by one task at a time; it holds no runtime resource, so dropping it
/// needs no cleanup.</para>
/// </remarks>
/// <example>
/// <code>
/// var every = cx.Interval(TimeSpan.FromSeconds(1), MissedTickBehavior.Skip);
/// while (true)
/// {
///     await every.TickAsync(cx);          // first tick at once, then once per second
///     await ReportHealthAsync(cx);
/// }
/// </code>
/// </example>
public sealed class Interval
{
    private readonly Lock _gate = new();
    private TimeSpan _next;
    private long _skipped;
    private long _id;

    internal Interval(TimeSpan start, TimeSpan period, MissedTickBehavior missedTick)
    {
        _next = start;
        Period = period;
        MissedTickBehavior = missedTick;
    }

    /// <summary>The period between ticks.</summary>
    public TimeSpan Period { get; }

    /// <summary>What happens to missed ticks.</summary>
    public MissedTickBehavior MissedTickBehavior { get; }

    /// <summary>The runtime time the next tick is due at.</summary>
    public TimeSpan NextTick
    {
        get { lock (_gate) return _next; }
    }

    /// <summary>Ticks dropped so far by <see cref="MissedTickBehavior.Skip"/> (always 0 for the other behaviours).</summary>
    public long SkippedTicks
    {
        get { lock (_gate) return _skipped; }
    }

    /// <summary>
    /// Waits until the next tick is due and consumes it. A checkpoint; cancel-safe (a cancel while waiting
    /// consumes no tick). Needs <see cref="Capabilities.Time"/>.
    /// </summary>
    /// <param name="cx">The ticking task's context.</param>
    /// <returns>The runtime time the tick was due at (earlier than now when it is late).</returns>
    /// <exception cref="CancelledException">The task was cancelled before or while waiting; no tick was consumed.</exception>
    public ValueTask<TimeSpan> TickAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        // A Lab choice point even when the tick is already due and nothing suspends: production can run another
        // task between two ticks.
        if (ChoicePoint.IsActive(cx.Task)) return ChoicePoint.BeforeAsync(cx.Task, (this, cx), static s => s.Item1.TickCore(s.cx));
        return TickCore(cx);
    }

    private ValueTask<TimeSpan> TickCore(Cx cx)
    {
        cx.Task.Checkpoint();
        var now = cx.Now; // capability check
        TimeSpan due;
        lock (_gate)
        {
            PrimitiveSupport.Touch(cx.Task, ref _id, "interval");
            due = _next;
            // Due already: read and consumed in one atomic action (so the choice point above is the only place
            // where another task's tick can come between).
            if (due <= now) return new ValueTask<TimeSpan>(ConsumeLocked(now, due));
        }
        return Slow(cx, cx.SleepUntilAsync(due), due);

        async ValueTask<TimeSpan> Slow(Cx cx, ValueTask sleep, TimeSpan due)
        {
            await sleep; // raises on cancel: nothing consumed
            return Consume(cx, due);
        }
    }

    /// <summary>Restarts the schedule: the next tick is due one period from now. Needs <see cref="Capabilities.Time"/>.</summary>
    /// <param name="cx">The calling task's context (for the clock).</param>
    public void Reset(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        var now = cx.Now;
        lock (_gate)
        {
            PrimitiveSupport.Touch(cx.Task, ref _id, "interval");
            _next = Add(now, Period);
        }
    }

    /// <summary>The tick due at <paramref name="due"/> fired: move the schedule on, by the missed-tick behaviour.</summary>
    private TimeSpan Consume(Cx cx, TimeSpan due)
    {
        var now = cx.Task.Runtime.Now;
        lock (_gate)
        {
            PrimitiveSupport.Touch(cx.Task, ref _id, "interval");
            return ConsumeLocked(now, due);
        }
    }

    /// <summary>Moves the schedule on from the tick due at <paramref name="due"/>. Caller holds the lock.</summary>
    private TimeSpan ConsumeLocked(TimeSpan now, TimeSpan due)
    {
        if (_next != due) return due; // another task ticked (or reset) meanwhile; this one keeps what it waited for
        switch (MissedTickBehavior)
        {
            case MissedTickBehavior.Burst:
                _next = Add(due, Period);
                break;
            case MissedTickBehavior.Delay:
                _next = Add(now > due ? now : due, Period);
                break;
            default:
                if (now < due + Period)
                {
                    _next = Add(due, Period); // not late by a whole period: nothing to skip
                }
                else
                {
                    long behind = (now - due).Ticks / Period.Ticks; // grid points at or before now, after due
                    _skipped += behind;
                    _next = Add(due, TimeSpan.FromTicks(Period.Ticks * Math.Min(behind + 1, long.MaxValue / Period.Ticks)));
                }
                break;
        }
        return due;
    }

    private static TimeSpan Add(TimeSpan a, TimeSpan b) => a >= TimeSpan.MaxValue - b ? TimeSpan.MaxValue : a + b;

    /// <inheritdoc />
    public override string ToString() => $"Interval(every {Period}, {MissedTickBehavior}, next at {NextTick})";
}

/// <summary>Creates <see cref="Asupersync.Interval"/> timers from a <see cref="Cx"/>.</summary>
public static class IntervalExtensions
{
    /// <summary>
    /// A periodic timer on the runtime clock whose first tick is due now (it completes at once) and the following
    /// ones every <paramref name="period"/>. Needs <see cref="Capabilities.Time"/>.
    /// </summary>
    /// <param name="cx">The creating task's context (for the clock).</param>
    /// <param name="period">A positive period.</param>
    /// <param name="missedTick">What to do with ticks due while nobody waited (default <see cref="MissedTickBehavior.Burst"/>).</param>
    /// <returns>The interval.</returns>
    /// <example><code>var tick = cx.Interval(TimeSpan.FromMilliseconds(100), MissedTickBehavior.Delay);</code></example>
    public static Interval Interval(this Cx cx, TimeSpan period, MissedTickBehavior missedTick = MissedTickBehavior.Burst)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        if (!Enum.IsDefined(missedTick)) throw new ArgumentOutOfRangeException(nameof(missedTick), missedTick, "Unknown missed-tick behaviour.");
        return new Interval(cx.Now, period, missedTick);
    }

    /// <summary>Like <see cref="Interval(Cx, TimeSpan, MissedTickBehavior)"/>, with the first tick due at runtime time <paramref name="start"/>.</summary>
    /// <param name="cx">The creating task's context (for the capability check).</param>
    /// <param name="start">Runtime time of the first tick.</param>
    /// <param name="period">A positive period.</param>
    /// <param name="missedTick">What to do with missed ticks.</param>
    /// <returns>The interval.</returns>
    public static Interval IntervalAt(this Cx cx, TimeSpan start, TimeSpan period, MissedTickBehavior missedTick = MissedTickBehavior.Burst)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        if (!Enum.IsDefined(missedTick)) throw new ArgumentOutOfRangeException(nameof(missedTick), missedTick, "Unknown missed-tick behaviour.");
        _ = cx.Now; // capability check
        return new Interval(start, period, missedTick);
    }
}
