using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Asupersync.Sagas;

/// <summary>Settings of a <see cref="PostgresSagaLogStore"/>.</summary>
public sealed record PostgresSagaLogStoreOptions
{
    /// <summary>The defaults.</summary>
    public static PostgresSagaLogStoreOptions Default { get; } = new();

    /// <summary>The database schema holding the tables (created if missing; default <c>public</c>). Letters, digits and underscores.</summary>
    public string Schema { get; init; } = "public";

    /// <summary>How long a claim lasts without renewal (default 30 s). The heartbeat renews it every third of that.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>This worker's identity on its leases (default <c>pg-</c> plus random hex; must be unique per process).</summary>
    public string? WorkerId { get; init; }
}

/// <summary>
/// The shared saga log on PostgreSQL, for several worker processes or machines: workers claim sagas with
/// <c>FOR UPDATE SKIP LOCKED</c>, hold a lease renewed by a heartbeat, and take over a saga whose lease expired.
/// </summary>
/// <remarks>
/// <para><b>Fencing.</b> Every claim increments the saga's epoch; every append updates the saga row only where owner and
/// epoch still match, in the same transaction as the log insert. A worker whose lease was taken over can no longer
/// write, and since every effect waits for its Started record, it can no longer start one.</para>
/// <para><b>Time.</b> Lease expiry is compared with the claiming worker's <see cref="Cx.UtcNow"/> (the runtime clock),
/// so the workers' clocks must agree to well within the lease duration (NTP).</para>
/// <para><b>I/O and cancellation.</b> Npgsql's I/O is asynchronous; each call is bridged with
/// <see cref="Cx.AwaitAsync{T}(Task{T})"/>. Log appends get no cancellation token and are awaited masked by the saga
/// runner: a cancel never cuts a log write short. If the cleanup budget runs out mid-statement the runner stops
/// waiting, and the statement still commits or rolls back on its own — the record is then durable or absent, and
/// because it precedes the effect it guards, both are states recovery handles. Lease renewals and releases take no
/// token either (a cancelled saga still needs its lease while it compensates). Reads and claims take
/// <see cref="Cx.CancellationToken"/>: a cancel aborts them with nothing changed (a claim's transaction rolls back).</para>
/// <para>Each append is one transaction (PostgreSQL's own WAL flushing groups concurrent commits); sequence numbers are
/// assigned under the saga row's lock, so they have no gaps.</para>
/// </remarks>
/// <example>
/// <code>
/// await using var store = await PostgresSagaLogStore.OpenAsync(cx, "Host=127.0.0.1;Database=app;Username=app");
/// await cx.RunSagaWorkerAsync(store, registry);   // until cancelled
/// </code>
/// </example>
public sealed partial class PostgresSagaLogStore : SagaLogStore
{
    private readonly NpgsqlDataSource _source;
    private readonly string _sagas;
    private readonly string _log;
    private readonly string _meta;
    private readonly string _where;
    private long _records;
    private long _commits;
    private int _disposed;

    private PostgresSagaLogStore(NpgsqlDataSource source, PostgresSagaLogStoreOptions options, string workerId, string where)
    {
        _source = source;
        var q = "\"" + options.Schema + "\".";
        _sagas = q + "asupersync_sagas";
        _log = q + "asupersync_saga_log";
        _meta = q + "asupersync_saga_meta";
        LeaseDuration = options.LeaseDuration;
        WorkerId = workerId;
        _where = where;
    }

    /// <inheritdoc />
    public override string WorkerId { get; }

    /// <inheritdoc />
    public override bool SupportsLeases => true;

    /// <inheritdoc />
    public override TimeSpan LeaseDuration { get; }

    /// <inheritdoc />
    public override long RecordsAppended => Interlocked.Read(ref _records);

    /// <inheritdoc />
    public override long Commits => Interlocked.Read(ref _commits);

    /// <summary>
    /// Connects, checks the schema version (refusing a newer one without changing anything) and creates the tables if
    /// needed, in one transaction serialized with other workers starting at the same time.
    /// </summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <returns>The store.</returns>
    /// <exception cref="SagaStoreUnavailableException">The server cannot be reached or refused the connection.</exception>
    /// <exception cref="SagaStoreSchemaException">The log was written by a newer schema version.</exception>
    public static async ValueTask<PostgresSagaLogStore> OpenAsync(Cx cx, string connectionString, PostgresSagaLogStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        options ??= PostgresSagaLogStoreOptions.Default;
        if (!Identifier().IsMatch(options.Schema)) throw new ArgumentException($"Schema name '{options.Schema}' must be letters, digits and underscores.", nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.LeaseDuration, TimeSpan.Zero, nameof(options));
        NpgsqlConnectionStringBuilder csb;
        try
        {
            csb = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new SagaStoreUnavailableException("the PostgreSQL connection string is invalid: " + ex.Message, ex);
        }
        var where = $"PostgreSQL at {csb.Host}:{csb.Port} (database '{csb.Database}')";
        var workerId = options.WorkerId ?? "pg-" + cx.NextRandom().ToString("x16", CultureInfo.InvariantCulture);
        var source = NpgsqlDataSource.Create(csb);
        var store = new PostgresSagaLogStore(source, options, workerId, where);
        try
        {
            await cx.AwaitAsync(store.InitSchemaAsync(options.Schema, cx.CancellationToken));
            return store;
        }
        catch (Exception ex)
        {
            await source.DisposeAsync();
            if (ex is SagaStoreException or CancelledException) throw;
            if (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
                throw new SagaStoreUnavailableException($"cannot reach {where}: {ex.Message}", ex);
            throw;
        }
    }

    private async Task InitSchemaAsync(string schema, CancellationToken ct)
    {
        await using var conn = await _source.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        // Serialize schema creation with other workers starting now (released at commit).
        await ExecAsync(conn, tx, "SELECT pg_advisory_xact_lock(7300514620151230871);", ct).ConfigureAwait(false);
        await ExecAsync(conn, tx, $"CREATE SCHEMA IF NOT EXISTS \"{schema}\";", ct).ConfigureAwait(false);
        var exists = await ScalarAsync(conn, tx, $"SELECT to_regclass('{_meta}') IS NOT NULL;", ct).ConfigureAwait(false);
        if (exists is true)
        {
            var raw = await ScalarAsync(conn, tx, $"SELECT value FROM {_meta} WHERE key = 'schema_version';", ct).ConfigureAwait(false) as string;
            if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out int version))
                throw new SagaStoreSchemaException($"the saga log in {_where}, schema '{schema}', has no readable schema version ('{raw}'); refusing to use it", 0, SagaLogFormat.SchemaVersion);
            if (version > SagaLogFormat.SchemaVersion)
                throw new SagaStoreSchemaException($"the saga log in {_where}, schema '{schema}', has schema version {version}, newer than this library supports ({SagaLogFormat.SchemaVersion}); upgrade Asupersync.Sagas. Nothing was changed.", version, SagaLogFormat.SchemaVersion);
        }
        else
        {
            await ExecAsync(conn, tx, $"""
                CREATE TABLE {_meta} (key text PRIMARY KEY, value text NOT NULL);
                INSERT INTO {_meta} (key, value) VALUES ('schema_version', '{SagaLogFormat.SchemaVersion}');
                CREATE TABLE {_sagas} (id text PRIMARY KEY, ord bigserial NOT NULL, state int NOT NULL, owner text, epoch bigint NOT NULL,
                    lease_until bigint NOT NULL, last_seq bigint NOT NULL);
                CREATE INDEX ON {_sagas} (state, ord);
                CREATE TABLE {_log} (saga_id text NOT NULL, seq bigint NOT NULL, transition int NOT NULL, step int NOT NULL, data text,
                    time_ticks bigint NOT NULL, checksum bigint NOT NULL, v int NOT NULL, PRIMARY KEY (saga_id, seq));
                """, ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async ValueTask<SagaLogRecord> AppendAsync(Cx cx, SagaLogEntry entry, SagaLease? lease = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        ArgumentNullException.ThrowIfNull(entry.SagaId);
        cx.Checkpoint();
        // No cancellation token: a log write is not cut short by a cancel (see the remarks).
        var r = await cx.AwaitAsync(AppendCoreAsync(entry, lease));
        Interlocked.Increment(ref _records);
        Interlocked.Increment(ref _commits);
        return r;
    }

    private async Task<SagaLogRecord> AppendCoreAsync(SagaLogEntry e, SagaLease? lease)
    {
        var time = e.Time.ToUniversalTime();
        try
        {
            await using var conn = await _source.OpenConnectionAsync().ConfigureAwait(false);
            await using var tx = await conn.BeginTransactionAsync().ConfigureAwait(false);
            long seq;
            if (e.Transition == SagaTransition.SagaStarted)
            {
                await using var ins = new NpgsqlCommand($"""
                    INSERT INTO {_sagas} (id, state, owner, epoch, lease_until, last_seq) VALUES (@id, 0, @owner, @epoch, @until, 1)
                    ON CONFLICT (id) DO NOTHING RETURNING 1;
                    """, conn, tx);
                ins.Parameters.AddWithValue("id", e.SagaId);
                ins.Parameters.AddWithValue("owner", (object?)lease?.Owner ?? DBNull.Value);
                ins.Parameters.AddWithValue("epoch", lease?.Epoch ?? 0L);
                ins.Parameters.AddWithValue("until", lease is null ? 0L : (time + LeaseDuration).UtcTicks);
                if (await ins.ExecuteScalarAsync().ConfigureAwait(false) is null) throw new SagaAlreadyExistsException(e.SagaId);
                seq = 1;
            }
            else
            {
                await using var up = new NpgsqlCommand($"""
                    UPDATE {_sagas} SET last_seq = last_seq + 1, state = COALESCE(@state, state)
                    WHERE id = @id AND (@fenced = false OR (owner = @owner AND epoch = @epoch)) RETURNING last_seq;
                    """, conn, tx);
                up.Parameters.AddWithValue("id", e.SagaId);
                up.Parameters.Add(new NpgsqlParameter<int?>("state", SagaLogFormat.StateAfter(e.Transition) is { } st ? (int)st : null));
                up.Parameters.AddWithValue("fenced", lease is not null);
                up.Parameters.AddWithValue("owner", (object?)lease?.Owner ?? DBNull.Value);
                up.Parameters.AddWithValue("epoch", lease?.Epoch ?? 0L);
                var result = await up.ExecuteScalarAsync().ConfigureAwait(false);
                if (result is null)
                {
                    await using var ex = new NpgsqlCommand($"SELECT 1 FROM {_sagas} WHERE id = @id;", conn, tx);
                    ex.Parameters.AddWithValue("id", e.SagaId);
                    bool exists = await ex.ExecuteScalarAsync().ConfigureAwait(false) is not null;
                    if (exists && lease is not null) throw new SagaLeaseLostException(lease);
                    throw new SagaStoreException($"saga '{e.SagaId}' does not exist in the log");
                }
                seq = (long)result;
            }
            var record = new SagaLogRecord(e.SagaId, seq, e.Transition, e.Step, e.Data, time);
            await using (var log = new NpgsqlCommand($"""
                INSERT INTO {_log} (saga_id, seq, transition, step, data, time_ticks, checksum, v) VALUES (@s, @q, @t, @p, @d, @time, @c, @v);
                """, conn, tx))
            {
                log.Parameters.AddWithValue("s", e.SagaId);
                log.Parameters.AddWithValue("q", seq);
                log.Parameters.AddWithValue("t", (int)e.Transition);
                log.Parameters.AddWithValue("p", e.Step);
                log.Parameters.AddWithValue("d", (object?)e.Data ?? DBNull.Value);
                log.Parameters.AddWithValue("time", time.UtcTicks);
                log.Parameters.AddWithValue("c", SagaLogFormat.Checksum(record));
                log.Parameters.AddWithValue("v", SagaLogFormat.SchemaVersion);
                await log.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            await tx.CommitAsync().ConfigureAwait(false);
            return record;
        }
        catch (Exception ex) when (ex is not SagaStoreException)
        {
            throw new SagaStoreException($"{_where}: append failed: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<SagaLogRecord>> ReadAsync(Cx cx, string sagaId)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        ArgumentNullException.ThrowIfNull(sagaId);
        return await cx.AwaitAsync(ReadCoreAsync(sagaId, cx.CancellationToken));
    }

    private async Task<IReadOnlyList<SagaLogRecord>> ReadCoreAsync(string sagaId, CancellationToken ct)
    {
        try
        {
            await using var conn = await _source.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand($"SELECT seq, transition, step, data, time_ticks, checksum, v FROM {_log} WHERE saga_id = @id ORDER BY seq;", conn);
            cmd.Parameters.AddWithValue("id", sagaId);
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var list = new List<SagaLogRecord>();
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                long seq = r.GetInt64(0);
                list.Add(SagaLogFormat.Decode(sagaId, seq, r.GetInt32(1), r.GetInt32(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetInt64(4), r.GetInt64(5), r.GetInt32(6)));
            }
            return SagaLogFormat.CheckContiguous(sagaId, list);
        }
        catch (Exception ex) when (ex is not SagaStoreException and not OperationCanceledException)
        {
            throw new SagaStoreException($"{_where}: read failed: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<string>> ListUnfinishedAsync(Cx cx, bool includeCompensationFailed = false)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        return await cx.AwaitAsync(ListCoreAsync(includeCompensationFailed, cx.CancellationToken));
    }

    private async Task<IReadOnlyList<string>> ListCoreAsync(bool includeCompensationFailed, CancellationToken ct)
    {
        try
        {
            await using var conn = await _source.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand($"SELECT id FROM {_sagas} WHERE state = ANY(@states) ORDER BY ord;", conn);
            cmd.Parameters.AddWithValue("states", States(includeCompensationFailed));
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var ids = new List<string>();
            while (await r.ReadAsync(ct).ConfigureAwait(false)) ids.Add(r.GetString(0));
            return ids;
        }
        catch (Exception ex) when (ex is not SagaStoreException and not OperationCanceledException)
        {
            throw new SagaStoreException($"{_where}: read failed: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<SagaLease>> ClaimAsync(Cx cx, int max, bool includeCompensationFailed = false)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        var now = cx.UtcNow;
        return await cx.AwaitAsync(ClaimCoreAsync(max, includeCompensationFailed, now, cx.CancellationToken));
    }

    private async Task<IReadOnlyList<SagaLease>> ClaimCoreAsync(int max, bool includeCompensationFailed, DateTimeOffset now, CancellationToken ct)
    {
        try
        {
            await using var conn = await _source.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand($"""
                UPDATE {_sagas} s SET owner = @owner, epoch = s.epoch + 1, lease_until = @until
                FROM (SELECT id FROM {_sagas} WHERE state = ANY(@states) AND (owner IS NULL OR lease_until < @now)
                      ORDER BY ord LIMIT @max FOR UPDATE SKIP LOCKED) c
                WHERE s.id = c.id RETURNING s.id, s.epoch, s.ord;
                """, conn);
            cmd.Parameters.AddWithValue("owner", WorkerId);
            cmd.Parameters.AddWithValue("until", (now + LeaseDuration).UtcTicks);
            cmd.Parameters.AddWithValue("now", now.UtcTicks);
            cmd.Parameters.AddWithValue("states", States(includeCompensationFailed));
            cmd.Parameters.AddWithValue("max", max);
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var claimed = new List<(long Ord, SagaLease Lease)>();
            while (await r.ReadAsync(ct).ConfigureAwait(false)) claimed.Add((r.GetInt64(2), new SagaLease(r.GetString(0), WorkerId, r.GetInt64(1))));
            return claimed.OrderBy(c => c.Ord).Select(c => c.Lease).ToArray();
        }
        catch (Exception ex) when (ex is not SagaStoreException and not OperationCanceledException)
        {
            throw new SagaStoreException($"{_where}: claim failed: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public override async ValueTask<bool> RenewAsync(Cx cx, SagaLease lease)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        ArgumentNullException.ThrowIfNull(lease);
        var until = (cx.UtcNow + LeaseDuration).UtcTicks;
        // No cancellation token: the heartbeat keeps renewing while a cancelled saga compensates, and the token
        // bridge of a cancelled task stays cancelled during its drain.
        return await cx.AwaitAsync(UpdateLeaseAsync(lease, "lease_until = @until", until, CancellationToken.None)) == 1;
    }

    /// <inheritdoc />
    public override async ValueTask ReleaseAsync(Cx cx, SagaLease lease)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        ArgumentNullException.ThrowIfNull(lease);
        await cx.AwaitAsync(UpdateLeaseAsync(lease, "owner = NULL, lease_until = 0", 0, CancellationToken.None));
    }

    private async Task<int> UpdateLeaseAsync(SagaLease lease, string set, long until, CancellationToken ct)
    {
        try
        {
            await using var conn = await _source.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand($"UPDATE {_sagas} SET {set} WHERE id = @id AND owner = @owner AND epoch = @epoch;", conn);
            cmd.Parameters.AddWithValue("id", lease.SagaId);
            cmd.Parameters.AddWithValue("owner", lease.Owner);
            cmd.Parameters.AddWithValue("epoch", lease.Epoch);
            cmd.Parameters.AddWithValue("until", until);
            return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not SagaStoreException and not OperationCanceledException)
        {
            throw new SagaStoreException($"{_where}: lease update failed: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _source.DisposeAsync();
    }

    private static int[] States(bool includeCompensationFailed) =>
        includeCompensationFailed ? [(int)SagaState.Running, (int)SagaState.Compensating, (int)SagaState.CompensationFailed] : [(int)SagaState.Running, (int)SagaState.Compensating];

    private static async Task ExecAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    private static partial Regex Identifier();
}
