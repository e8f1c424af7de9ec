using Asupersync.Kernel;

namespace Asupersync;

/// <summary>What kind of two-phase effect an <see cref="Obligation"/> stands for.</summary>
public enum ObligationKind
{
    /// <summary>A reserved channel slot.</summary>
    SendPermit,

    /// <summary>A received message to acknowledge (commit) or reject (abort).</summary>
    Ack,

    /// <summary>A lease to renew or let expire.</summary>
    Lease,

    /// <summary>An I/O operation to complete or roll back.</summary>
    IoOp,

    /// <summary>A semaphore permit.</summary>
    SemaphorePermit,

    /// <summary>Any other user-defined effect.</summary>
    Custom,
}

/// <summary>The state of an obligation: <c>Reserved → Committed | Aborted | Leaked</c> (the last three are final).</summary>
public enum ObligationState
{
    /// <summary>Reserved, not yet resolved.</summary>
    Reserved,

    /// <summary>Committed: the effect happened.</summary>
    Committed,

    /// <summary>Aborted: the reservation was released (explicitly, by disposal, or by the runtime on cancel or panic).</summary>
    Aborted,

    /// <summary>The holder ended Ok or Err without resolving it; the runtime aborted the reservation and reported the leak.</summary>
    Leaked,
}

/// <summary>Reported (as the Err of the holder's outcome) when a task ends Ok or Err still holding a Reserved obligation.</summary>
public sealed class ObligationLeakedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which obligations leaked.</param>
    public ObligationLeakedException(string message) : base(message) { }
}

/// <summary>
/// A two-phase effect: <em>reserve</em> (reversible) now, <em>commit</em> (final) or <em>abort</em> later. The
/// runtime tracks every Reserved obligation in its region's ledger; only the holder task may resolve it.
/// </summary>
/// <remarks>
/// <para>When the holder ends Cancelled or Panicked with the obligation still Reserved, the runtime aborts it
/// with that reason: nothing is lost. When the holder ends Ok or Err with it still Reserved, it has leaked:
/// the runtime aborts it (no slot stays stuck), reports the leak once, and applies the configured
/// <see cref="LeakResponse"/>.</para>
/// <para>Disposing an unresolved obligation aborts it, so <c>using</c> covers every exit path; disposing a
/// resolved one does nothing.</para>
/// </remarks>
/// <example>
/// <code>
/// using var ob = cx.Reserve(ObligationKind.IoOp, "write row 42");
/// await WriteAsync(cx);       // a cancel here aborts the reservation
/// ob.Commit();                // the effect is now final
/// </code>
/// </example>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public sealed class Obligation : IDisposable
{
    private readonly TaskCore _holder;
    private readonly RegionCore _region;
    private readonly object? _onResolve; // an Action<Obligation, ObligationState> or an IObligationHook
    // Null while Reserved; set once, by compare-and-swap, to the final state and its reason. No lock on this object:
    // Obligation is public, and user code locking on it must not be able to stall the runtime.
    private Resolution? _resolution;

    private sealed class Resolution(ObligationState state, CancelReason? reason)
    {
        internal static readonly Resolution Committed = new(ObligationState.Committed, null);
        internal readonly ObligationState State = state;
        internal readonly CancelReason? Reason = reason;
    }

    // Intrusive links: the region's ledger and the holder's held list are doubly linked through the obligations
    // themselves, so reserving and resolving cost no list allocation and an O(1) unlink (each under its owner's lock).
    internal Obligation? LedgerPrev, LedgerNext, HeldPrev, HeldNext;
    internal bool InLedger, InHeld;

    internal Obligation(long id, TaskCore holder, RegionCore region, ObligationKind kind, string description, object? onResolve)
    {
        Id = id;
        _holder = holder;
        _region = region;
        Kind = kind;
        Description = description;
        _onResolve = onResolve;
        ReservedAt = holder.Runtime.Now;
    }

    /// <summary>Unique id within the runtime.</summary>
    public long Id { get; }

    /// <summary>The kind of effect.</summary>
    public ObligationKind Kind { get; }

    /// <summary>What the effect is, for diagnostics.</summary>
    public string Description { get; }

    /// <summary>Runtime time of the reservation.</summary>
    public TimeSpan ReservedAt { get; }

    /// <summary>Id of the holder task.</summary>
    public long HolderTaskId => _holder.Id;

    /// <summary>Id of the region whose ledger tracks it.</summary>
    public long RegionId => _region.Id;

    /// <summary>Current state.</summary>
    public ObligationState State => Volatile.Read(ref _resolution)?.State ?? ObligationState.Reserved;

    /// <summary>Why it was aborted (for Aborted and Leaked), else null.</summary>
    public CancelReason? AbortReason => Volatile.Read(ref _resolution)?.Reason;

    /// <summary>Commits the effect. Only the holder task may call it, once, while Reserved.</summary>
    /// <exception cref="InvalidOperationException">Not the holder, or already resolved.</exception>
    public void Commit()
    {
        EnsureHolder("commit");
        if (!TryResolve(ObligationState.Committed, null))
            throw new InvalidOperationException($"Obligation {Id} ({Description}) is already {State}; it cannot be committed.");
    }

    /// <summary>Aborts the reservation. Only the holder task may call it, once, while Reserved.</summary>
    /// <param name="message">Why, for diagnostics.</param>
    /// <exception cref="InvalidOperationException">Not the holder, or already resolved.</exception>
    public void Abort(string? message = null)
    {
        EnsureHolder("abort");
        var reason = new CancelReason(CancelKind.User, message ?? "aborted by holder", _holder.Runtime.Now, _region.Id, _holder.Id);
        if (!TryResolve(ObligationState.Aborted, reason))
            throw new InvalidOperationException($"Obligation {Id} ({Description}) is already {State}; it cannot be aborted.");
    }

    /// <summary>Aborts the reservation if it is still Reserved; otherwise does nothing. Idempotent.</summary>
    public void Dispose()
    {
        if (State != ObligationState.Reserved) return;
        EnsureHolder("dispose");
        TryResolve(ObligationState.Aborted, new CancelReason(CancelKind.User, "disposed while reserved", _holder.Runtime.Now, _region.Id, _holder.Id));
    }

    /// <inheritdoc />
    public override string ToString() => $"Obligation {Id} {Kind} '{Description}' {State}, held by task {_holder.Id} '{_holder.Name}'";

    internal TaskCore Holder => _holder;

    internal bool AbortByRuntime(CancelReason reason) => TryResolve(ObligationState.Aborted, reason);

    internal bool MarkLeaked(CancelReason reason) => TryResolve(ObligationState.Leaked, reason);

    private void EnsureHolder(string what)
    {
        var current = TaskCore.Current;
        if (!ReferenceEquals(current, _holder))
        {
            throw new InvalidOperationException(
                $"Only the holder task '{_holder.Name}' may {what} obligation {Id} ({Description}); " +
                (current is null ? "the call came from outside any runtime task (did the body use ConfigureAwait(false)?)." : $"the call came from task '{current.Name}'."));
        }
    }

    private bool TryResolve(ObligationState to, CancelReason? reason)
    {
        var resolution = to == ObligationState.Committed && reason is null ? Resolution.Committed : new Resolution(to, reason);
        if (Interlocked.CompareExchange(ref _resolution, resolution, null) is not null) return false;
        _holder.OnObligationResolved(this);
        _region.OnObligationResolved(this, to);
        // The primitive's hook (free a slot, redeliver a message) runs outside every lock.
        switch (_onResolve)
        {
            case IObligationHook hook:
                hook.OnResolved(this, to);
                break;
            case Action<Obligation, ObligationState> action:
                action(this, to);
                break;
        }
        return true;
    }
}

/// <summary>A primitive's hook that runs once, outside every lock, when an obligation it handed out is resolved (frees a slot, returns permits).</summary>
internal interface IObligationHook
{
    /// <summary>The obligation reached its final state <paramref name="state"/>.</summary>
    void OnResolved(Obligation obligation, ObligationState state);
}
