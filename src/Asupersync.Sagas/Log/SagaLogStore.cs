namespace Asupersync.Sagas;

/// <summary>
/// A durable saga log: every transition of every saga, appended before the effect it guards, plus (for stores shared
/// by several workers) leases on sagas. Implementations: <see cref="SqliteSagaLogStore"/> (embedded, one process),
/// <see cref="PostgresSagaLogStore"/> (several processes or machines, with leases) and
/// <see cref="InMemorySagaLogStore"/> (tests and the Lab, with the same semantics and a simulated crash).
/// </summary>
/// <remarks>
/// <para><b>Durability.</b> When <see cref="AppendAsync"/> returns, the record is durable (on SQLite: its batch was
/// committed with one fsync; on PostgreSQL: its transaction committed). When it throws — or when a cancel or an
/// exhausted cleanup budget makes the caller stop waiting — the record may or may not be durable. The saga runner
/// relies only on this: an effect runs after the record that guards it is durable, so either answer is a state
/// recovery handles.</para>
/// <para><b>Threads and the Lab.</b> Every method takes the calling task's <see cref="Cx"/>: time (leases) comes
/// from <see cref="Cx.UtcNow"/>, waits are runtime waits. Database stores do real I/O; under the Lab use the
/// in-memory store.</para>
/// </remarks>
public abstract class SagaLogStore : IAsyncDisposable
{
    /// <summary>Creates the store base.</summary>
    protected SagaLogStore() { }

    /// <summary>This worker's identity in the store (the owner written on the leases it takes).</summary>
    public abstract string WorkerId { get; }

    /// <summary>True when several workers may share the store: sagas are claimed with leases, renewed by a heartbeat,
    /// and taken over once a lease expires; every append is fenced by the lease's epoch.</summary>
    public virtual bool SupportsLeases => false;

    /// <summary>How long a lease lasts without renewal (meaningful when <see cref="SupportsLeases"/>).</summary>
    public virtual TimeSpan LeaseDuration => TimeSpan.Zero;

    /// <summary>Transitions appended so far by this store object.</summary>
    public abstract long RecordsAppended { get; }

    /// <summary>Commits (transactions, and so fsyncs) made so far by this store object: with group commit, fewer than
    /// <see cref="RecordsAppended"/> when appends arrive together.</summary>
    public abstract long Commits { get; }

    /// <summary>
    /// Appends a transition and returns once it is durable, with its sequence number. A
    /// <see cref="SagaTransition.SagaStarted"/> creates the saga (owned by <paramref name="lease"/>, or unowned for a
    /// submitted saga); any other transition with a lease is fenced: it fails with
    /// <see cref="SagaLeaseLostException"/> when another worker claimed the saga since.
    /// </summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="entry">The transition.</param>
    /// <param name="lease">The caller's lease on the saga, if the store uses leases.</param>
    /// <returns>The durable record.</returns>
    /// <exception cref="SagaStoreException">The store failed; the record may or may not be durable.</exception>
    /// <exception cref="SagaAlreadyExistsException">A SagaStarted for an id that already exists.</exception>
    public abstract ValueTask<SagaLogRecord> AppendAsync(Cx cx, SagaLogEntry entry, SagaLease? lease = null);

    /// <summary>Reads a saga's whole log in sequence order, checking every record's checksum and that no record is missing.</summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="sagaId">The saga.</param>
    /// <returns>The records; empty when the saga does not exist.</returns>
    /// <exception cref="SagaLogCorruptException">A record is damaged.</exception>
    public abstract ValueTask<IReadOnlyList<SagaLogRecord>> ReadAsync(Cx cx, string sagaId);

    /// <summary>The ids of the sagas not in a final state, oldest first (whoever holds them).</summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="includeCompensationFailed">Also list CompensationFailed sagas (final until reopened).</param>
    /// <returns>The ids.</returns>
    public abstract ValueTask<IReadOnlyList<string>> ListUnfinishedAsync(Cx cx, bool includeCompensationFailed = false);

    /// <summary>
    /// Claims up to <paramref name="max"/> unfinished sagas that nobody holds (or whose lease expired), oldest first,
    /// for this worker. With leases: <c>FOR UPDATE SKIP LOCKED</c> or its equivalent, a new epoch per claim. Without:
    /// the unfinished sagas this store object is not already running.
    /// </summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="max">The most to claim.</param>
    /// <param name="includeCompensationFailed">Also claim CompensationFailed sagas (to retry their compensation).</param>
    /// <returns>The leases taken.</returns>
    public abstract ValueTask<IReadOnlyList<SagaLease>> ClaimAsync(Cx cx, int max, bool includeCompensationFailed = false);

    /// <summary>Extends a lease by <see cref="LeaseDuration"/> from now.</summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="lease">The lease.</param>
    /// <returns>False when the lease was lost (another worker claimed the saga).</returns>
    public virtual ValueTask<bool> RenewAsync(Cx cx, SagaLease lease) => new(true);

    /// <summary>Gives a claim up (the saga may be claimed at once by anyone). Does nothing if the lease was lost.</summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="lease">The lease.</param>
    /// <returns>A task completing when released.</returns>
    public abstract ValueTask ReleaseAsync(Cx cx, SagaLease lease);

    /// <summary>Closes the store.</summary>
    /// <returns>A task completing when closed.</returns>
    public abstract ValueTask DisposeAsync();

    /// <summary>Wraps a failure that is not already a store error.</summary>
    /// <param name="what">What was being done.</param>
    /// <param name="ex">The failure.</param>
    /// <returns>The store exception.</returns>
    protected static SagaStoreException Wrap(string what, Exception ex) =>
        ex as SagaStoreException ?? new SagaStoreException($"{what} failed: {ex.Message}", ex);
}
