namespace Asupersync;

/// <summary>User obligations with effects: an application's own two-phase resource tracked by the runtime.</summary>
public static class ObligationEffects
{
    /// <summary>
    /// Reserves an application's own two-phase effect — a slot in its table, a row lock, a reservation in another
    /// service — as an obligation in this task's region, with the code that finishes or undoes it. The runtime
    /// then guarantees that exactly one of the two runs, exactly once: <paramref name="onCommit"/> when the holder
    /// commits, <paramref name="onAbort"/> when the holder aborts or disposes it, when the holder ends Cancelled or
    /// Panicked with it still reserved (the runtime aborts it with that reason), or when the holder leaks it (ends
    /// Ok or Err without resolving it: the reservation is still released, and the leak reported).
    /// </summary>
    /// <remarks>
    /// <para>The hooks run synchronously, once, on the thread that resolved the obligation (the holder's step, or
    /// the holder's completion), outside every runtime lock. They are for quick bookkeeping: give a slot back,
    /// mark a row free, queue a compensation. Do asynchronous work <em>before</em> committing. A hook that throws
    /// is reported as <see cref="DiagnosticKind.ObligationHookFailed"/> and never escapes into the runtime (nor into
    /// <see cref="Obligation.Commit"/>); the obligation is resolved either way.</para>
    /// <para>Only the holder task (the one whose Cx reserved it) may commit or abort it.</para>
    /// </remarks>
    /// <param name="cx">The holder's context.</param>
    /// <param name="kind">The kind of effect (usually <see cref="ObligationKind.Custom"/>).</param>
    /// <param name="description">What it is, for diagnostics.</param>
    /// <param name="onCommit">Runs once when the obligation is committed (null: nothing to do).</param>
    /// <param name="onAbort">Runs once when it is aborted or leaked, with the reason (null: nothing to undo).</param>
    /// <returns>The obligation; commit or abort it, or dispose it to abort.</returns>
    /// <exception cref="RegionClosedException">The region no longer admits obligations.</exception>
    /// <exception cref="RegionLimitExceededException">The region's obligation limit is reached.</exception>
    /// <example>
    /// <para>A seat counter that a cancel between "take a seat" and "confirm" would leave unbalanced, made safe:</para>
    /// <code>
    /// lock (seats) seats.Available--;                        // reserve the seat …
    /// using var hold = cx.Reserve(ObligationKind.Custom, "seat",
    ///     onCommit: () =&gt; { lock (seats) seats.Confirmed++; },
    ///     onAbort: _ =&gt; { lock (seats) seats.Available++; }); // … and say how to give it back
    /// await paymentService.ChargeAsync(cx, card);            // a cancel here: the runtime aborts → seat returned
    /// hold.Commit();                                         // the seat is confirmed
    /// </code>
    /// </example>
    public static Obligation Reserve(this Cx cx, ObligationKind kind, string description, Action? onCommit, Action<CancelReason>? onAbort)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(description);
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown obligation kind.");
        if (onCommit is null && onAbort is null) return cx.Reserve(kind, description);
        var runtime = cx.Task.Runtime;
        return cx.Reserve(kind, description, (ob, state) =>
        {
            try
            {
                if (state == ObligationState.Committed) onCommit?.Invoke();
                else onAbort?.Invoke(ob.AbortReason!);
            }
            catch (Exception ex)
            {
                runtime.Diagnostics.Report(DiagnosticKind.ObligationHookFailed, ob.Holder,
                    $"the {(state == ObligationState.Committed ? "commit" : "abort")} hook of obligation #{ob.Id} {ob.Kind} '{ob.Description}' threw: {ex}");
            }
        });
    }
}
