namespace Asupersync.Channels;

/// <summary>
/// A reserved slot in a channel — the first phase of a two-phase send. <see cref="Send"/> fills it and cannot
/// fail or wait; <see cref="Dispose"/> (or <see cref="Abort"/>) frees the slot unused.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
/// <remarks>
/// <para>The permit is a tracked obligation of kind <see cref="ObligationKind.SendPermit"/> held by the task that
/// reserved it; only that task may send or abort. If the task is cancelled (or panics) before sending, the runtime
/// aborts the permit and the slot is freed — nothing half-sent, nothing lost. If it ends normally without
/// resolving the permit, the runtime reports a leak and frees the slot.</para>
/// <para>If the receiver closed the channel in the meantime, <see cref="Send"/> still succeeds and the item is
/// dropped: nobody will read it.</para>
/// </remarks>
/// <example>
/// <code>
/// using var permit = await tx.ReserveAsync(cx);   // may wait for space; cancel-safe
/// var item = await ProduceAsync(cx);               // a cancel here frees the slot
/// permit.Send(item);                               // cannot fail, cannot block
/// </code>
/// </example>
public sealed class SendPermit<T> : IDisposable, IObligationHook
{
    private readonly MpscCore<T> _core;
    private T _item = default!;

    internal SendPermit(MpscCore<T> core) => _core = core;

    internal Obligation Obligation { get; set; } = null!;

    /// <summary>True until the permit is sent, aborted or released by the runtime.</summary>
    public bool IsReserved => Obligation.State == ObligationState.Reserved;

    /// <summary>Sends <paramref name="item"/> into the reserved slot (commits the obligation). Never waits.</summary>
    /// <param name="item">The item.</param>
    /// <exception cref="InvalidOperationException">The permit was already used, or the caller is not the task that reserved it.</exception>
    public void Send(T item)
    {
        _item = item;
        Obligation.Commit(); // the resolve hook pushes _item
    }

    /// <summary>Frees the slot without sending.</summary>
    /// <param name="message">Why, for diagnostics.</param>
    /// <exception cref="InvalidOperationException">The permit was already used, or the caller is not the task that reserved it.</exception>
    public void Abort(string? message = null) => Obligation.Abort(message);

    /// <summary>Frees the slot if the permit was not used; otherwise does nothing. Idempotent.</summary>
    public void Dispose() => Obligation.Dispose();

    void IObligationHook.OnResolved(Obligation obligation, ObligationState state)
    {
        if (state == ObligationState.Committed)
        {
            var item = _item;
            _item = default!;
            _core.CommitReserved(item);
        }
        else
        {
            _core.ReleaseReserved();
        }
    }
}
