using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;

namespace Asupersync;

/// <summary>
/// How a task, region or combinator ended: <c>Ok(value)</c>, <c>Err(error)</c>, <c>Cancelled(reason)</c> or
/// <c>Panicked(exception)</c>, ordered by severity in that order.
/// </summary>
/// <typeparam name="T">The value type of the Ok case.</typeparam>
/// <remarks>
/// Outcomes travel as values through joins, races and region closes, so those paths need no exceptions.
/// Use <see cref="GetValueOrThrow"/> (or <see cref="Value"/>) to turn an outcome back into a value or the
/// matching exception at the edge of your code.
/// </remarks>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public readonly struct Outcome<T> : IEquatable<Outcome<T>>
{
    private readonly T? _value;
    private readonly object? _payload; // Exception for Err/Panicked, CancelReason for Cancelled

    private Outcome(OutcomeKind kind, T? value, object? payload)
    {
        Kind = kind;
        _value = value;
        _payload = payload;
    }

    /// <summary>Which of the four cases this is. <c>default(Outcome&lt;T&gt;)</c> is <c>Ok(default)</c>.</summary>
    public OutcomeKind Kind { get; }

    /// <summary>True for Ok.</summary>
    public bool IsOk => Kind == OutcomeKind.Ok;

    /// <summary>True for Err.</summary>
    public bool IsErr => Kind == OutcomeKind.Err;

    /// <summary>True for Cancelled.</summary>
    public bool IsCancelled => Kind == OutcomeKind.Cancelled;

    /// <summary>True for Panicked.</summary>
    public bool IsPanicked => Kind == OutcomeKind.Panicked;

    /// <summary>The Ok value; throws like <see cref="GetValueOrThrow"/> for the other cases.</summary>
    public T Value => GetValueOrThrow();

    /// <summary>The error of an Err outcome, else null.</summary>
    public Exception? Error => Kind == OutcomeKind.Err ? (Exception?)_payload : null;

    /// <summary>The reason of a Cancelled outcome, else null.</summary>
    public CancelReason? CancelReason => Kind == OutcomeKind.Cancelled ? (CancelReason?)_payload : null;

    /// <summary>The exception of a Panicked outcome, else null.</summary>
    public Exception? Exception => Kind == OutcomeKind.Panicked ? (Exception?)_payload : null;

    /// <summary>Makes an Ok outcome.</summary>
    /// <param name="value">The value.</param>
    /// <returns>Ok(value).</returns>
    public static Outcome<T> Ok(T value) => new(OutcomeKind.Ok, value, null);

    /// <summary>Makes an Err outcome.</summary>
    /// <param name="error">The error.</param>
    /// <returns>Err(error).</returns>
    public static Outcome<T> Err(Exception error) => new(OutcomeKind.Err, default, error ?? throw new ArgumentNullException(nameof(error)));

    /// <summary>Makes a Cancelled outcome.</summary>
    /// <param name="reason">Why.</param>
    /// <returns>Cancelled(reason).</returns>
    public static Outcome<T> Cancelled(CancelReason reason) => new(OutcomeKind.Cancelled, default, reason ?? throw new ArgumentNullException(nameof(reason)));

    /// <summary>Makes a Panicked outcome.</summary>
    /// <param name="exception">The unhandled exception.</param>
    /// <returns>Panicked(exception).</returns>
    public static Outcome<T> Panicked(Exception exception) => new(OutcomeKind.Panicked, default, exception ?? throw new ArgumentNullException(nameof(exception)));

    /// <summary>Tries to get the Ok value.</summary>
    /// <param name="value">The value when Ok.</param>
    /// <returns>True when Ok.</returns>
    public bool TryGetValue([MaybeNullWhen(false)] out T value)
    {
        value = _value!;
        return Kind == OutcomeKind.Ok;
    }

    /// <summary>
    /// Returns the Ok value, or throws: the error for Err (wrapped in <see cref="TaskErrorException"/> unless it
    /// is one), a <see cref="CancelledException"/> for Cancelled, and the original exception (with its stack
    /// trace) for Panicked.
    /// </summary>
    /// <returns>The value.</returns>
    public T GetValueOrThrow()
    {
        switch (Kind)
        {
            case OutcomeKind.Ok:
                return _value!;
            case OutcomeKind.Err:
                var err = (Exception)_payload!;
                if (err is TaskErrorException) ExceptionDispatchInfo.Throw(err);
                throw new TaskErrorException(err.Message, err);
            case OutcomeKind.Cancelled:
                throw new CancelledException((CancelReason)_payload!);
            default:
                ExceptionDispatchInfo.Throw((Exception)_payload!);
                throw null!; // unreachable
        }
    }

    /// <summary>Maps the Ok value; other cases pass through unchanged.</summary>
    /// <typeparam name="TResult">The new value type.</typeparam>
    /// <param name="map">The mapping.</param>
    /// <returns>The mapped outcome.</returns>
    public Outcome<TResult> Map<TResult>(Func<T, TResult> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        return Kind == OutcomeKind.Ok ? Outcome<TResult>.Ok(map(_value!)) : Outcome<TResult>.FromNonOk(Kind, _payload);
    }

    /// <summary>Chains an outcome-producing step on the Ok value; other cases pass through unchanged.</summary>
    /// <typeparam name="TResult">The new value type.</typeparam>
    /// <param name="bind">The next step.</param>
    /// <returns>The step's outcome, or this one's non-Ok case.</returns>
    public Outcome<TResult> Bind<TResult>(Func<T, Outcome<TResult>> bind)
    {
        ArgumentNullException.ThrowIfNull(bind);
        return Kind == OutcomeKind.Ok ? bind(_value!) : Outcome<TResult>.FromNonOk(Kind, _payload);
    }

    /// <summary>Forgets the value, keeping the case (Ok becomes Ok(()) ).</summary>
    /// <returns>The outcome without its value.</returns>
    public Outcome<Unit> WithoutValue() => Kind == OutcomeKind.Ok ? Outcome<Unit>.Ok(default) : Outcome<Unit>.FromNonOk(Kind, _payload);

    /// <summary>
    /// Joins two outcomes: the more severe wins. Two Cancelled combine by strengthening their reasons; between
    /// two of another equal kind the left one is kept.
    /// </summary>
    /// <param name="a">Left outcome.</param>
    /// <param name="b">Right outcome.</param>
    /// <returns>The join.</returns>
    public static Outcome<T> Join(Outcome<T> a, Outcome<T> b)
    {
        if (a.Kind != b.Kind) return a.Kind > b.Kind ? a : b;
        if (a.Kind == OutcomeKind.Cancelled)
        {
            var r = Asupersync.CancelReason.Strengthen((CancelReason)a._payload!, (CancelReason)b._payload!)!;
            return ReferenceEquals(r, a._payload) ? a : b;
        }
        return a;
    }

    /// <summary>Joins this outcome with the case of another (its value, if any, is ignored).</summary>
    /// <typeparam name="TOther">The other value type.</typeparam>
    /// <param name="other">The other outcome.</param>
    /// <returns>This outcome, or the other's case when it is more severe.</returns>
    public Outcome<T> JoinWith<TOther>(Outcome<TOther> other)
    {
        if (other.Kind == OutcomeKind.Ok) return this;
        return Join(this, FromNonOk(other.Kind, other.Payload));
    }

    internal object? Payload => _payload;

    internal static Outcome<T> FromNonOk(OutcomeKind kind, object? payload) => new(kind, default, payload);

    /// <inheritdoc />
    public bool Equals(Outcome<T> other) =>
        Kind == other.Kind && EqualityComparer<T?>.Default.Equals(_value, other._value) && Equals(_payload, other._payload);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Outcome<T> o && Equals(o);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, _value, _payload);

    /// <summary>Equality.</summary>
    /// <param name="left">Left.</param>
    /// <param name="right">Right.</param>
    /// <returns>True when equal.</returns>
    public static bool operator ==(Outcome<T> left, Outcome<T> right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">Left.</param>
    /// <param name="right">Right.</param>
    /// <returns>True when different.</returns>
    public static bool operator !=(Outcome<T> left, Outcome<T> right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        OutcomeKind.Ok => $"Ok({_value})",
        OutcomeKind.Err => $"Err({((Exception)_payload!).Message})",
        OutcomeKind.Cancelled => _payload!.ToString()!,
        _ => $"Panicked({((Exception)_payload!).GetType().Name}: {((Exception)_payload!).Message})",
    };
}

/// <summary>Factory helpers for <see cref="Outcome{T}"/>.</summary>
public static class Outcome
{
    /// <summary>Ok(value).</summary>
    /// <typeparam name="T">Value type.</typeparam>
    /// <param name="value">The value.</param>
    /// <returns>The outcome.</returns>
    public static Outcome<T> Ok<T>(T value) => Outcome<T>.Ok(value);

    /// <summary>Ok(()).</summary>
    /// <returns>The outcome.</returns>
    public static Outcome<Unit> Ok() => Outcome<Unit>.Ok(default);

    /// <summary>Err(error).</summary>
    /// <typeparam name="T">Value type.</typeparam>
    /// <param name="error">The error.</param>
    /// <returns>The outcome.</returns>
    public static Outcome<T> Err<T>(Exception error) => Outcome<T>.Err(error);

    /// <summary>Cancelled(reason).</summary>
    /// <typeparam name="T">Value type.</typeparam>
    /// <param name="reason">The reason.</param>
    /// <returns>The outcome.</returns>
    public static Outcome<T> Cancelled<T>(CancelReason reason) => Outcome<T>.Cancelled(reason);

    /// <summary>Panicked(exception).</summary>
    /// <typeparam name="T">Value type.</typeparam>
    /// <param name="exception">The exception.</param>
    /// <returns>The outcome.</returns>
    public static Outcome<T> Panicked<T>(Exception exception) => Outcome<T>.Panicked(exception);

    /// <summary>Joins a sequence of outcomes (most severe wins; see <see cref="Outcome{T}.Join"/>). Empty joins to Ok(()).</summary>
    /// <param name="outcomes">The outcomes.</param>
    /// <returns>The join.</returns>
    public static Outcome<Unit> JoinAll(IEnumerable<Outcome<Unit>> outcomes)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        var acc = Ok();
        foreach (var o in outcomes) acc = Outcome<Unit>.Join(acc, o);
        return acc;
    }
}
