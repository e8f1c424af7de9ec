using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Asupersync.Sagas;

/// <summary>Settings of a <see cref="SqliteSagaLogStore"/>.</summary>
public sealed record SqliteSagaLogStoreOptions
{
    /// <summary>The defaults.</summary>
    public static SqliteSagaLogStoreOptions Default { get; } = new();

    /// <summary>Whether a new commit leader yields once to let concurrent appends join its batch (default true).</summary>
    public bool GroupCommit { get; init; } = true;

    /// <summary>The worker identity recorded by this store (default <c>sqlite-</c> plus random hex).</summary>
    public string? WorkerId { get; init; }
}

/// <summary>
/// The embedded saga log: one SQLite file, written by one process. A path is all the setup.
/// </summary>
/// <remarks>
/// <para><b>Durability and group commit.</b> WAL journal with <c>synchronous=FULL</c>: every commit is one fsync of
/// the WAL. Appends that arrive together — the Started records of a batch of monotone steps — share one transaction
/// (see <see cref="SagaLogStore.Commits"/> against <see cref="SagaLogStore.RecordsAppended"/>). A commit leader is the
/// appender that found no commit in progress; it yields once, then commits everything pending.</para>
/// <para><b>One process.</b> The file is opened in exclusive locking mode: a second process opening the same log fails
/// with <see cref="SagaStoreUnavailableException"/> instead of corrupting it. For several worker processes use
/// <see cref="PostgresSagaLogStore"/>.</para>
/// <para><b>Blocking.</b> Microsoft.Data.Sqlite's asynchronous methods complete synchronously, so a commit runs on the
/// appending task's worker thread for the duration of one fsync; group commit amortizes it over the batch. Reads are
/// synchronous too. Do not use it under the Lab (it does real I/O): use <see cref="InMemorySagaLog"/> there.</para>
/// <para><b>Bad input.</b> A file written by a newer schema version is refused at open with
/// <see cref="SagaStoreSchemaException"/> and left untouched; a changed or cut record fails its checksum on read
/// (<see cref="SagaLogCorruptException"/>); a path that cannot be opened gives <see cref="SagaStoreUnavailableException"/>.</para>
/// </remarks>
/// <example>
/// <code>
/// await using var store = await SqliteSagaLogStore.OpenAsync(cx, "sagas.db");
/// await cx.RecoverSagasAsync(store, registry);             // finish what a crash left
/// var o = await cx.SagaAsync(order, new SagaOptions { Store = store });
/// </code>
/// </example>
public sealed class SqliteSagaLogStore : SagaLogStore
{
    private const string Meta = "asupersync_saga_meta";
    private const string Sagas = "asupersync_sagas";
    private const string Log = "asupersync_saga_log";

    private readonly Lock _db = new();
    private readonly SqliteConnection _conn;
    private readonly GroupCommitter _committer;
    private readonly Dictionary<string, long> _lastSeq = [];
    private readonly HashSet<string> _held = [];
    private long _lastOrder;
    private bool _disposed;

    private SqliteSagaLogStore(SqliteConnection conn, string path, string workerId, bool groupCommit)
    {
        _conn = conn;
        Path = path;
        WorkerId = workerId;
        _committer = new GroupCommitter(CommitBatch, groupCommit);
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public override string WorkerId { get; }

    /// <inheritdoc />
    public override long RecordsAppended => _committer.Records;

    /// <inheritdoc />
    public override long Commits => _committer.Commits;

    /// <summary>
    /// Opens (creating if needed) the saga log at <paramref name="path"/>: checks the schema version (refusing a newer
    /// one without changing anything), creates the tables in one transaction, and takes the file's exclusive lock.
    /// </summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="path">The database file (its directory must exist).</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <returns>The store.</returns>
    /// <exception cref="SagaStoreUnavailableException">The file cannot be opened, is not a database, or is in use by another process.</exception>
    /// <exception cref="SagaStoreSchemaException">The log was written by a newer schema version.</exception>
    public static ValueTask<SqliteSagaLogStore> OpenAsync(Cx cx, string path, SqliteSagaLogStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= SqliteSagaLogStoreOptions.Default;
        cx.Checkpoint();
        var workerId = options.WorkerId ?? "sqlite-" + cx.NextRandom().ToString("x16", CultureInfo.InvariantCulture);
        var cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false, DefaultTimeout = 1 }.ToString();
        var conn = new SqliteConnection(cs);
        try
        {
            conn.Open();
            Exec(conn, "PRAGMA busy_timeout = 500;"); // the log is exclusive: a holder is another live process, not a brief writer
            Exec(conn, "PRAGMA locking_mode = EXCLUSIVE;");
            var mode = Scalar(conn, "PRAGMA journal_mode = WAL;") as string;
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                throw new SagaStoreUnavailableException($"SQLite saga log '{path}': could not switch to WAL journal mode (got '{mode}')");
            Exec(conn, "PRAGMA synchronous = FULL;");
            var store = new SqliteSagaLogStore(conn, path, workerId, options.GroupCommit);
            store.InitSchema();
            return new(store);
        }
        catch (SqliteException ex)
        {
            conn.Dispose();
            throw ex.SqliteErrorCode is 5 or 6 // SQLITE_BUSY, SQLITE_LOCKED
                ? new SagaStoreUnavailableException($"SQLite saga log '{path}' is in use by another process (it is opened exclusively)", ex)
                : new SagaStoreUnavailableException($"cannot open the SQLite saga log '{path}': {ex.Message}", ex);
        }
        catch
        {
            conn.Dispose();
            throw;
        }
    }

    private void InitSchema()
    {
        // BEGIN IMMEDIATE takes the write lock now: a log held by another process fails here, not at the first append.
        using var tx = _conn.BeginTransaction(deferred: false);
        bool hasMeta = Convert.ToInt64(Scalar(_conn, $"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{Meta}';", tx), CultureInfo.InvariantCulture) > 0;
        if (hasMeta)
        {
            var raw = Scalar(_conn, $"SELECT value FROM {Meta} WHERE key = 'schema_version';", tx) as string;
            if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out int version))
                throw new SagaStoreSchemaException($"SQLite saga log '{Path}' has no readable schema version ('{raw}'); refusing to use it", 0, SagaLogFormat.SchemaVersion);
            if (version > SagaLogFormat.SchemaVersion)
                throw new SagaStoreSchemaException($"SQLite saga log '{Path}' has schema version {version}, newer than this library supports ({SagaLogFormat.SchemaVersion}); upgrade Asupersync.Sagas. Nothing was changed.", version, SagaLogFormat.SchemaVersion);
        }
        else
        {
            Exec(_conn, $"""
                CREATE TABLE {Meta} (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                INSERT INTO {Meta} (key, value) VALUES ('schema_version', '{SagaLogFormat.SchemaVersion}');
                CREATE TABLE {Sagas} (id TEXT PRIMARY KEY, ord INTEGER NOT NULL, state INTEGER NOT NULL);
                CREATE TABLE {Log} (saga_id TEXT NOT NULL, seq INTEGER NOT NULL, transition INTEGER NOT NULL, step INTEGER NOT NULL,
                    data TEXT, time_ticks INTEGER NOT NULL, checksum INTEGER NOT NULL, v INTEGER NOT NULL, PRIMARY KEY (saga_id, seq)) WITHOUT ROWID;
                CREATE INDEX {Sagas}_state ON {Sagas} (state, ord);
                """, tx);
        }
        _lastOrder = Convert.ToInt64(Scalar(_conn, $"SELECT COALESCE(MAX(ord), 0) FROM {Sagas};", tx), CultureInfo.InvariantCulture);
        tx.Commit();
    }

    /// <inheritdoc />
    public override ValueTask<SagaLogRecord> AppendAsync(Cx cx, SagaLogEntry entry, SagaLease? lease = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        ArgumentNullException.ThrowIfNull(entry.SagaId);
        return _committer.AppendAsync(cx, entry, lease);
    }

    private void CommitBatch(IReadOnlyList<GroupCommitter.Pending> batch)
    {
        lock (_db)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var seqs = new Dictionary<string, long>();
            long order = _lastOrder;
            try
            {
                using var tx = _conn.BeginTransaction(deferred: false);
                using var insertSaga = Command($"INSERT INTO {Sagas} (id, ord, state) VALUES ($id, $ord, 0);", tx, "$id", "$ord");
                using var insertLog = Command($"INSERT INTO {Log} (saga_id, seq, transition, step, data, time_ticks, checksum, v) VALUES ($s, $q, $t, $p, $d, $time, $c, $v);",
                    tx, "$s", "$q", "$t", "$p", "$d", "$time", "$c", "$v");
                using var setState = Command($"UPDATE {Sagas} SET state = $state WHERE id = $id;", tx, "$state", "$id");
                foreach (var p in batch)
                {
                    var e = p.Entry;
                    long seq;
                    if (e.Transition == SagaTransition.SagaStarted)
                    {
                        if (seqs.ContainsKey(e.SagaId) || _lastSeq.ContainsKey(e.SagaId) || Exists(e.SagaId, tx)) throw new SagaAlreadyExistsException(e.SagaId);
                        insertSaga.Parameters[0].Value = e.SagaId;
                        insertSaga.Parameters[1].Value = ++order;
                        insertSaga.ExecuteNonQuery();
                        seq = 1;
                    }
                    else
                    {
                        if (!seqs.TryGetValue(e.SagaId, out long last) && !_lastSeq.TryGetValue(e.SagaId, out last))
                        {
                            last = Convert.ToInt64(Scalar(_conn, $"SELECT COALESCE(MAX(seq), -1) FROM {Log} WHERE saga_id = $id;", tx, ("$id", e.SagaId)), CultureInfo.InvariantCulture);
                            if (last < 0) throw new SagaStoreException($"saga '{e.SagaId}' does not exist in the log");
                        }
                        seq = last + 1;
                    }
                    var record = new SagaLogRecord(e.SagaId, seq, e.Transition, e.Step, e.Data, e.Time.ToUniversalTime());
                    insertLog.Parameters[0].Value = e.SagaId;
                    insertLog.Parameters[1].Value = seq;
                    insertLog.Parameters[2].Value = (int)e.Transition;
                    insertLog.Parameters[3].Value = e.Step;
                    insertLog.Parameters[4].Value = (object?)e.Data ?? DBNull.Value;
                    insertLog.Parameters[5].Value = record.Time.UtcTicks;
                    insertLog.Parameters[6].Value = SagaLogFormat.Checksum(record);
                    insertLog.Parameters[7].Value = SagaLogFormat.SchemaVersion;
                    insertLog.ExecuteNonQuery();
                    if (SagaLogFormat.StateAfter(e.Transition) is { } state)
                    {
                        setState.Parameters[0].Value = (int)state;
                        setState.Parameters[1].Value = e.SagaId;
                        setState.ExecuteNonQuery();
                    }
                    seqs[e.SagaId] = seq;
                    p.Record = record;
                }
                tx.Commit();
            }
            catch (SqliteException ex)
            {
                throw new SagaStoreException($"SQLite saga log '{Path}': commit failed: {ex.Message}", ex);
            }
            foreach (var (id, seq) in seqs) _lastSeq[id] = seq;
            _lastOrder = order;
            foreach (var p in batch)
            {
                if (p.Entry.Transition == SagaTransition.SagaStarted && p.Lease is not null) _held.Add(p.Entry.SagaId);
            }
        }
    }

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<SagaLogRecord>> ReadAsync(Cx cx, string sagaId)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        ArgumentNullException.ThrowIfNull(sagaId);
        cx.Checkpoint();
        lock (_db)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                using var cmd = Command($"SELECT seq, transition, step, data, time_ticks, checksum, v FROM {Log} WHERE saga_id = $id ORDER BY seq;", null, "$id");
                cmd.Parameters[0].Value = sagaId;
                using var r = cmd.ExecuteReader();
                var list = new List<SagaLogRecord>();
                while (r.Read())
                {
                    long seq = 0;
                    try
                    {
                        seq = r.GetInt64(0);
                        list.Add(SagaLogFormat.Decode(sagaId, seq, r.GetInt64(1), r.GetInt64(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetInt64(4), r.GetInt64(5), r.GetInt64(6)));
                    }
                    catch (Exception ex) when (ex is FormatException or InvalidCastException or OverflowException or InvalidOperationException)
                    {
                        throw new SagaLogCorruptException(sagaId, seq, "a field has the wrong type: " + ex.Message);
                    }
                }
                return new(SagaLogFormat.CheckContiguous(sagaId, list));
            }
            catch (SqliteException ex)
            {
                throw new SagaStoreException($"SQLite saga log '{Path}': read failed: {ex.Message}", ex);
            }
        }
    }

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<string>> ListUnfinishedAsync(Cx cx, bool includeCompensationFailed = false)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        cx.Checkpoint();
        lock (_db) return new(Unfinished(includeCompensationFailed));
    }

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<SagaLease>> ClaimAsync(Cx cx, int max, bool includeCompensationFailed = false)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.IO); // database I/O on the caller's behalf
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        cx.Checkpoint();
        lock (_db)
        {
            var claimed = new List<SagaLease>();
            foreach (var id in Unfinished(includeCompensationFailed))
            {
                if (claimed.Count >= max) break;
                if (_held.Add(id)) claimed.Add(new SagaLease(id, WorkerId, 0));
            }
            return new(claimed);
        }
    }

    /// <inheritdoc />
    public override ValueTask ReleaseAsync(Cx cx, SagaLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lock (_db) _held.Remove(lease.SagaId);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        lock (_db)
        {
            if (_disposed) return ValueTask.CompletedTask;
            _disposed = true;
            _conn.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    private string[] Unfinished(bool includeCompensationFailed)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            var states = includeCompensationFailed ? "0, 1, 4" : "0, 1";
            using var cmd = Command($"SELECT id FROM {Sagas} WHERE state IN ({states}) ORDER BY ord;", null);
            using var r = cmd.ExecuteReader();
            var ids = new List<string>();
            while (r.Read()) ids.Add(r.GetString(0));
            return ids.ToArray();
        }
        catch (SqliteException ex)
        {
            throw new SagaStoreException($"SQLite saga log '{Path}': read failed: {ex.Message}", ex);
        }
    }

    private bool Exists(string id, SqliteTransaction tx) =>
        Convert.ToInt64(Scalar(_conn, $"SELECT count(*) FROM {Sagas} WHERE id = $id;", tx, ("$id", id)), CultureInfo.InvariantCulture) > 0;

    private SqliteCommand Command(string sql, SqliteTransaction? tx, params string[] parameters)
    {
        var cmd = _conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var p in parameters) cmd.Parameters.Add(new SqliteParameter(p, null));
        return cmd;
    }

    private static void Exec(SqliteConnection conn, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection conn, string sql, SqliteTransaction? tx = null, params (string Name, object Value)[] parameters)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (n, v) in parameters) cmd.Parameters.AddWithValue(n, v);
        return cmd.ExecuteScalar();
    }
}
