using Asupersync.Kernel;
namespace Asupersync.Channels;

/// <summary>Creates oneshot channels: exactly one value from one sender to one receiver.</summary>
/// <example>
/// <code>
/// var (tx, rx) = Oneshot.Create&lt;int&gt;();
/// cx.Spawn("compute", async cx =>
/// {
///     using var permit = tx.Reserve(cx);     // two-phase: reserve first
///     var v = await ComputeAsync(cx);        // a cancel here aborts the permit; the receiver is told
///     permit.Send(v);                        // cannot fail
/// });
/// int result = await rx.ReceiveAsync(cx);
/// </code>
/// </example>
public static class Oneshot
{
    /// <summary>Creates a oneshot channel.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <returns>The sender and the receiver.</returns>
    public static (OneshotSender<T> Sender, OneshotReceiver<T> Receiver) Create<T>()
    {
        var core = new OneshotCore<T>();
        return (new OneshotSender<T>(core), new OneshotReceiver<T>(core));
    }
}

/// <summary>The sending side of a oneshot channel.</summary>
/// <typeparam name="T">The value type.</typeparam>
/// <remarks>
/// Disposing the sender without sending closes the channel: the receiver gets a
/// <see cref="ChannelClosedException"/>. With a reservation outstanding, the close takes effect when the
/// reservation is aborted (a committed send still arrives). Disposal is idempotent.
/// </remarks>
public sealed class OneshotSender<T> : IDisposable
{
    private readonly OneshotCore<T> _core;

    internal OneshotSender(OneshotCore<T> core) => _core = core;

    /// <summary>True once the receiver closed the channel (a send would be dropped).</summary>
    public bool IsClosed => _core.IsReceiverClosed;

    /// <summary>Reserves the channel's single slot: the first phase of a two-phase send. Never waits.</summary>
    /// <param name="cx">The reserving task's context; that task holds the permit.</param>
    /// <returns>The permit (an obligation of kind <see cref="ObligationKind.SendPermit"/>).</returns>
    /// <exception cref="ChannelClosedException">The receiver is closed.</exception>
    /// <exception cref="InvalidOperationException">A value was already sent or a reservation is outstanding.</exception>
    public OneshotPermit<T> Reserve(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        return _core.Reserve(cx);
    }

    /// <summary>Sends at once if the channel is unused and the receiver is still there.</summary>
    /// <param name="value">The value.</param>
    /// <returns>True when sent.</returns>
    public bool TrySend(T value) => _core.TrySend(value);

    /// <summary>Closes the channel without a value; the receiver gets <paramref name="error"/> as the inner exception of a <see cref="ChannelClosedException"/>.</summary>
    /// <param name="error">The error, or null.</param>
    public void Close(Exception? error = null) => _core.CloseSender(error);

    /// <summary>Closes the channel if no value was sent. Idempotent.</summary>
    public void Dispose() => _core.CloseSender(null);
}

/// <summary>A reserved oneshot slot; <see cref="Send"/> cannot fail or wait, disposing frees the slot.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class OneshotPermit<T> : IDisposable
{
    private readonly OneshotCore<T> _core;
    private T _value = default!;

    internal OneshotPermit(OneshotCore<T> core) => _core = core;

    internal Obligation Obligation { get; set; } = null!;

    /// <summary>True until the permit is sent or aborted.</summary>
    public bool IsReserved => Obligation.State == ObligationState.Reserved;

    /// <summary>Sends the value (commits the obligation). Dropped silently if the receiver closed meanwhile.</summary>
    /// <param name="value">The value.</param>
    /// <exception cref="InvalidOperationException">Already used, or not called by the reserving task.</exception>
    public void Send(T value)
    {
        _value = value;
        Obligation.Commit();
    }

    /// <summary>Frees the slot unused; the sender may reserve again.</summary>
    /// <param name="message">Why, for diagnostics.</param>
    public void Abort(string? message = null) => Obligation.Abort(message);

    /// <summary>Frees the slot if unused. Idempotent.</summary>
    public void Dispose() => Obligation.Dispose();

    internal void OnResolved(Obligation obligation, ObligationState state)
    {
        if (state == ObligationState.Committed)
        {
            var v = _value;
            _value = default!;
            _core.Fill(v);
        }
        else
        {
            _core.Unreserve();
        }
    }
}

/// <summary>The receiving side of a oneshot channel.</summary>
/// <typeparam name="T">The value type.</typeparam>
/// <remarks>A cancel while <see cref="ReceiveAsync"/> waits loses nothing: the value stays for a later receive.</remarks>
public sealed class OneshotReceiver<T> : IDisposable
{
    private readonly OneshotCore<T> _core;

    internal OneshotReceiver(OneshotCore<T> core) => _core = core;

    internal OneshotCore<T> Core => _core;

    /// <summary>True when a value is waiting to be received.</summary>
    public bool HasValue => _core.HasValue;

    /// <summary>Waits for the value. A checkpoint; cancel-safe.</summary>
    /// <param name="cx">The receiving task's context.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ChannelClosedException">The sender went away without sending (its error, if any, is the inner exception).</exception>
    /// <exception cref="InvalidOperationException">The value was already received.</exception>
    public ValueTask<T> ReceiveAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        if (ChoicePoint.IsActive(cx.Task)) return ChoicePoint.BeforeAsync(cx.Task, (_core, cx), static s => s.Item1.ReceiveAsync(s.cx));
        return _core.ReceiveAsync(cx);
    }

    /// <summary>Takes the value if it is there; never waits.</summary>
    /// <param name="value">The value.</param>
    /// <returns>True when taken.</returns>
    public bool TryReceive([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T value) => _core.TryReceive(out value);

    /// <summary>Closes the channel: a later send is dropped; the sender sees <see cref="OneshotSender{T}.IsClosed"/>.</summary>
    /// <param name="error">The error to report to the sender's reservations, or null.</param>
    public void Close(Exception? error = null) => _core.CloseReceiver(error);

    /// <summary>Closes the channel. Idempotent.</summary>
    public void Dispose() => _core.CloseReceiver(null);
}
