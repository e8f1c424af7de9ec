using Asupersync.Sync;

namespace Asupersync.Sagas;

/// <summary>
/// The "disk" of an in-memory saga log: it outlives the store objects opened on it, so a test can crash a simulated
/// process (<see cref="Crash()"/>) and open a new store on the same durable records, as a restarted process would.
/// </summary>
/// <remarks>
/// <para>Same semantics as the database stores: an append is durable once it returns (group commit included),
/// sequence numbers without gaps, checksummed records, leases with epochs and fencing (when opened with a lease
/// duration), <c>SKIP LOCKED</c>-style claims. What a crash loses is exactly what was not yet committed.</para>
/// <para>Made for the Lab: it keeps no thread, reports its accesses to the Lab's dependency analysis, and takes its
/// time from the calling task's <see cref="Cx.UtcNow"/>.</para>
/// </remarks>
/// <example>
/// <code>
/// var disk = new InMemorySagaLog();
/// var store = disk.Open();
/// // ... run sagas, then simulate a crash and a restart:
/// disk.Crash();
/// var restarted = disk.Open();
/// await cx.RecoverSagasAsync(restarted, registry);
/// </code>
/// </example>
public sealed class InMemorySagaLog
{
    internal sealed class Row(string id, long order)
    {
        internal readonly string Id = id;
        internal readonly long Order = order;
        internal readonly List<Stored> Records = [];
        internal SagaState State = SagaState.Running;
        internal string? Owner;
        internal long Epoch;
        internal DateTimeOffset LeaseUntil = DateTimeOffset.MinValue;
    }

    internal sealed record Stored(SagaLogRecord Record, long Checksum, int Version);

    internal readonly Lock Gate = new();
    internal readonly Dictionary<string, Row> Rows = [];
    internal readonly List<Row> InOrder = [];
    private int _incarnation;
    private int _workers;

    /// <summary>How many times <see cref="Crash()"/> was called.</summary>
    public int Crashes
    {
        get { lock (Gate) return _incarnation; }
    }

    /// <summary>Opens a store on this log, as a (re)started process would.</summary>
    /// <param name="leaseDuration">When set, the store uses leases of this duration (like <see cref="PostgresSagaLogStore"/>); when null, it behaves like the single-process SQLite store.</param>
    /// <param name="workerId">The worker's identity (default <c>worker-N</c>).</param>
    /// <param name="groupCommit">Whether a new commit leader yields once to gather a batch (default true).</param>
    /// <returns>The store.</returns>
    public InMemorySagaLogStore Open(TimeSpan? leaseDuration = null, string? workerId = null, bool groupCommit = true)
    {
        if (leaseDuration is { } d && d <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(leaseDuration), d, "A lease must last longer than zero.");
        int incarnation;
        lock (Gate)
        {
            incarnation = _incarnation;
            workerId ??= "worker-" + (++_workers).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return new InMemorySagaLogStore(this, incarnation, leaseDuration, workerId, groupCommit);
    }

    /// <summary>
    /// Simulates a crash of every process that has a store open on this log: what they had not committed is lost, and
    /// their stores fail every later call with <see cref="SagaStoreUnavailableException"/> (a dead process does nothing
    /// more). Leases they held stay until they expire, as after a real crash.
    /// </summary>
    public void Crash()
    {
        lock (Gate) _incarnation++;
    }

    /// <summary>Simulates a crash of one worker only (its store); the log and the other workers go on.</summary>
    /// <param name="store">The store of the worker that dies.</param>
    public static void CrashWorker(InMemorySagaLogStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        store.Kill();
    }

    /// <summary>Every durable record of a saga (for assertions), in order; empty if unknown.</summary>
    /// <param name="sagaId">The saga.</param>
    /// <returns>The records.</returns>
    public IReadOnlyList<SagaLogRecord> RecordsOf(string sagaId)
    {
        lock (Gate) return Rows.TryGetValue(sagaId, out var row) ? row.Records.Select(s => s.Record).ToArray() : [];
    }

    /// <summary>Every saga id in creation order (for assertions).</summary>
    public IReadOnlyList<string> SagaIds
    {
        get { lock (Gate) return InOrder.Select(r => r.Id).ToArray(); }
    }

    /// <summary>The state the log says a saga is in (for assertions).</summary>
    /// <param name="sagaId">The saga.</param>
    /// <returns>The state, or null when unknown.</returns>
    public SagaState? StateOf(string sagaId)
    {
        lock (Gate) return Rows.TryGetValue(sagaId, out var row) ? row.State : null;
    }

    /// <summary>Test hook: replaces a stored record's data without fixing its checksum (a damaged row).</summary>
    internal void Tamper(string sagaId, long sequence, string? data)
    {
        lock (Gate)
        {
            var rows = Rows[sagaId].Records;
            int i = rows.FindIndex(s => s.Record.Sequence == sequence);
            rows[i] = rows[i] with { Record = rows[i].Record with { Data = data } };
        }
    }

    /// <summary>The current incarnation (read under <see cref="Gate"/>).</summary>
    internal int IncarnationLocked => _incarnation;
}

/// <summary>A store on an <see cref="InMemorySagaLog"/> — one simulated process's view of it.</summary>
public sealed class InMemorySagaLogStore : SagaLogStore
{
    private readonly InMemorySagaLog _log;
    private readonly int _incarnation;
    private readonly TimeSpan? _lease;
    private readonly GroupCommitter _committer;
    private readonly HashSet<string> _held = [];
    private bool _killed;
    private bool _disposed;
    private long _id;

    internal InMemorySagaLogStore(InMemorySagaLog log, int incarnation, TimeSpan? leaseDuration, string workerId, bool groupCommit)
    {
        _log = log;
        _incarnation = incarnation;
        _lease = leaseDuration;
        WorkerId = workerId;
        _committer = new GroupCommitter(CommitBatch, groupCommit);
    }

    /// <inheritdoc />
    public override string WorkerId { get; }

    /// <inheritdoc />
    public override bool SupportsLeases => _lease is not null;

    /// <inheritdoc />
    public override TimeSpan LeaseDuration => _lease ?? TimeSpan.Zero;

    /// <inheritdoc />
    public override long RecordsAppended => _committer.Records;

    /// <inheritdoc />
    public override long Commits => _committer.Commits;

    /// <summary>The log this store is open on.</summary>
    public InMemorySagaLog Log => _log;

    internal void Kill()
    {
        lock (_log.Gate) _killed = true;
    }

    /// <inheritdoc />
    public override ValueTask<SagaLogRecord> AppendAsync(Cx cx, SagaLogEntry entry, SagaLease? lease = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(entry.SagaId);
        Touch(cx);
        lock (_log.Gate) CheckAliveLocked();
        return _committer.AppendAsync(cx, entry, lease);
    }

    private void CommitBatch(IReadOnlyList<GroupCommitter.Pending> batch)
    {
        lock (_log.Gate)
        {
            CheckAliveLocked();
            // Validate the whole batch first so that a failing record leaves nothing half applied.
            var created = new HashSet<string>();
            foreach (var p in batch)
            {
                var e = p.Entry;
                if (e.Transition == SagaTransition.SagaStarted)
                {
                    if (_log.Rows.ContainsKey(e.SagaId) || !created.Add(e.SagaId)) throw new SagaAlreadyExistsException(e.SagaId);
                    continue;
                }
                if (_log.Rows.TryGetValue(e.SagaId, out var row))
                {
                    if (SupportsLeases && p.Lease is { } l && (row.Owner != l.Owner || row.Epoch != l.Epoch)) throw new SagaLeaseLostException(l);
                }
                else if (!created.Contains(e.SagaId))
                {
                    throw new SagaStoreException($"saga '{e.SagaId}' does not exist in the log");
                }
            }
            foreach (var p in batch)
            {
                var e = p.Entry;
                if (e.Transition == SagaTransition.SagaStarted)
                {
                    var created1 = new InMemorySagaLog.Row(e.SagaId, _log.InOrder.Count);
                    if (p.Lease is { } l && SupportsLeases)
                    {
                        created1.Owner = l.Owner;
                        created1.Epoch = l.Epoch;
                        created1.LeaseUntil = e.Time + LeaseDuration;
                    }
                    else if (p.Lease is not null)
                    {
                        _held.Add(e.SagaId); // started by a runner of this process: not claimable by its worker
                    }
                    _log.Rows.Add(e.SagaId, created1);
                    _log.InOrder.Add(created1);
                }
                var r = _log.Rows[e.SagaId];
                var record = new SagaLogRecord(e.SagaId, r.Records.Count + 1, e.Transition, e.Step, e.Data, e.Time);
                r.Records.Add(new InMemorySagaLog.Stored(record, SagaLogFormat.Checksum(record), SagaLogFormat.SchemaVersion));
                r.State = SagaLogFormat.StateAfter(e.Transition) ?? r.State;
                p.Record = record;
            }
        }
    }

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<SagaLogRecord>> ReadAsync(Cx cx, string sagaId)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(sagaId);
        cx.Checkpoint();
        Touch(cx);
        lock (_log.Gate)
        {
            CheckAliveLocked();
            if (!_log.Rows.TryGetValue(sagaId, out var row)) return new([]);
            var list = new List<SagaLogRecord>(row.Records.Count);
            foreach (var s in row.Records)
            {
                var r = s.Record;
                list.Add(SagaLogFormat.Decode(r.SagaId, r.Sequence, (int)r.Transition, r.Step, r.Data, r.Time.UtcTicks, s.Checksum, s.Version));
            }
            return new(SagaLogFormat.CheckContiguous(sagaId, list));
        }
    }

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<string>> ListUnfinishedAsync(Cx cx, bool includeCompensationFailed = false)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Checkpoint();
        Touch(cx);
        lock (_log.Gate)
        {
            CheckAliveLocked();
            return new(_log.InOrder.Where(r => Unfinished(r, includeCompensationFailed)).Select(r => r.Id).ToArray());
        }
    }

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<SagaLease>> ClaimAsync(Cx cx, int max, bool includeCompensationFailed = false)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        cx.Checkpoint();
        Touch(cx);
        var now = SupportsLeases ? cx.UtcNow : default;
        lock (_log.Gate)
        {
            CheckAliveLocked();
            var claimed = new List<SagaLease>();
            foreach (var row in _log.InOrder)
            {
                if (claimed.Count >= max) break;
                if (!Unfinished(row, includeCompensationFailed)) continue;
                if (SupportsLeases)
                {
                    if (row.Owner is not null && row.LeaseUntil > now) continue;
                    row.Owner = WorkerId;
                    row.Epoch++;
                    row.LeaseUntil = now + LeaseDuration;
                    claimed.Add(new SagaLease(row.Id, WorkerId, row.Epoch));
                }
                else if (_held.Add(row.Id))
                {
                    claimed.Add(new SagaLease(row.Id, WorkerId, 0));
                }
            }
            return new(claimed);
        }
    }

    /// <inheritdoc />
    public override ValueTask<bool> RenewAsync(Cx cx, SagaLease lease)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(lease);
        Touch(cx);
        if (!SupportsLeases) return new(true);
        var now = cx.UtcNow;
        lock (_log.Gate)
        {
            CheckAliveLocked();
            if (!_log.Rows.TryGetValue(lease.SagaId, out var row) || row.Owner != lease.Owner || row.Epoch != lease.Epoch) return new(false);
            row.LeaseUntil = now + LeaseDuration;
            return new(true);
        }
    }

    /// <inheritdoc />
    public override ValueTask ReleaseAsync(Cx cx, SagaLease lease)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(lease);
        Touch(cx);
        lock (_log.Gate)
        {
            CheckAliveLocked();
            _held.Remove(lease.SagaId);
            if (SupportsLeases && _log.Rows.TryGetValue(lease.SagaId, out var row) && row.Owner == lease.Owner && row.Epoch == lease.Epoch)
            {
                row.Owner = null;
                row.LeaseUntil = DateTimeOffset.MinValue;
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        lock (_log.Gate) _disposed = true;
        return ValueTask.CompletedTask;
    }

    private static bool Unfinished(InMemorySagaLog.Row r, bool includeCompensationFailed) =>
        r.State is SagaState.Running or SagaState.Compensating || (includeCompensationFailed && r.State == SagaState.CompensationFailed);

    private void CheckAliveLocked()
    {
        if (_killed || _incarnation != _log.IncarnationLocked)
            throw new SagaStoreUnavailableException($"in-memory saga store of '{WorkerId}': the simulated process crashed");
        ObjectDisposedException.ThrowIf(_disposed, this);
    }

    private void Touch(Cx cx) => PrimitiveSupport.Touch(cx.Task, ref _id, "saga-log");
}
