using Microsoft.Data.Sqlite;
using Npgsql;

namespace Asupersync.Sagas.Tests;

/// <summary>The contract every database store keeps, run against SQLite and PostgreSQL (one derived class each), on the production runtime.</summary>
public abstract class SqlStoreContract : IAsyncLifetime
{
    private static readonly SagaOpKind[] Three = [SagaOpKind.Reserve, SagaOpKind.Send, SagaOpKind.Commit];

    /// <summary>Opens (or reopens) the store on this test's database.</summary>
    protected abstract ValueTask<SagaLogStore> OpenAsync(Cx cx);

    /// <summary>Runs raw SQL against the database while no store is open; {log}, {sagas}, {meta} name the tables.</summary>
    protected abstract Task ExecAsync(string sql);

    /// <summary>A store that cannot be reached at all.</summary>
    protected abstract ValueTask<SagaLogStore> OpenUnreachableAsync(Cx cx);

    /// <inheritdoc />
    public virtual Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static Task<T> Run<T>(Func<Cx, Task<T>> body) => TestRuntime.RunAsync(body);

    [Fact]
    public async Task Sagas_RunToCompletionAndToCompensation_OnTheStore()
    {
        var ledger = new Ledger();
        ledger.FailAlways("bad/2");
        var saga = Sagas.Build("s", ledger, Three, TimeSpan.Zero);
        var (ok, failed, log) = await Run(async cx =>
        {
            await using var store = await OpenAsync(cx);
            var ok = await cx.SagaAsync(saga, new SagaOptions { Store = store, SagaId = "good" });
            var failed = await cx.SagaAsync(saga, new SagaOptions { Store = store, SagaId = "bad" });
            return (ok, failed, await store.ReadAsync(cx, "bad"));
        });
        Assert.True(ok.IsOk, ok.ToString());
        Assert.Equal(SagaState.Compensated, Assert.IsType<SagaAbortedException>(failed.Error).Result.State);
        // LIFO by start: steps 0 and 1 are monotone and started together, in whichever order the log recorded.
        var lifo = log.Where(r => r.Transition == SagaTransition.StepStarted).OrderByDescending(r => r.Sequence).Select(r => r.Step).ToArray();
        Assert.Equal(2, lifo[0]);
        Assert.Equal(lifo, ledger.CompensationOrder("bad"));
        Assert.Equal(Enumerable.Range(1, log.Count).Select(i => (long)i), log.Select(r => r.Sequence));
        Assert.Equal(SagaTransition.SagaCompensated, log[^1].Transition);
    }

    [Fact]
    public async Task ConcurrentAppends_GetGaplessSequences_AndSurviveAReopen()
    {
        var records = await Run(async cx =>
        {
            await using (var store = await OpenAsync(cx))
            {
                await store.AppendAsync(cx, new SagaLogEntry("c", SagaTransition.SagaStarted, -1, SagaLogFormat.EncodeHeader(new Saga("c").Step("a", (_, _) => Task.CompletedTask, null), null, SagaPlanning.Calm), cx.UtcNow));
                await cx.RegionAsync("appenders", rcx =>
                {
                    for (int i = 0; i < 24; i++)
                    {
                        var data = Sagas.Str(i);
                        rcx.Spawn("a" + data, c => store.AppendAsync(c, new SagaLogEntry("c", SagaTransition.StepStarted, 0, data, c.UtcNow)).AsTask());
                    }
                    return Task.CompletedTask;
                });
            }
            await using var reopened = await OpenAsync(cx);
            return await reopened.ReadAsync(cx, "c");
        });
        Assert.Equal(25, records.Count);
        Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), records.Select(r => r.Sequence));
        Assert.Equal(Enumerable.Range(0, 24).Select(Sagas.Str).Order(), records.Skip(1).Select(r => r.Data!).Order());
    }

    [Fact]
    public async Task DuplicateSagaId_IsRefused()
    {
        var saga = new Saga("d").Step("a", (_, _) => Task.CompletedTask, null);
        var error = await Run(async cx =>
        {
            await using var store = await OpenAsync(cx);
            await cx.SubmitSagaAsync(store, saga, sagaId: "same");
            try
            {
                await cx.SubmitSagaAsync(store, saga, sagaId: "same");
                return null;
            }
            catch (SagaStoreException e)
            {
                return e;
            }
        });
        Assert.IsType<SagaAlreadyExistsException>(error);
    }

    [Fact]
    public async Task Recovery_ResumesAPartialLog_ExactlyFromWhereItStopped()
    {
        var ledger = new Ledger();
        var saga = Sagas.Build("p", ledger, Three, TimeSpan.Zero);
        var report = await Run(async cx =>
        {
            await using (var store = await OpenAsync(cx))
            {
                // What a crashed worker left: step 0 completed, step 1 started (its effect unknown).
                await cx.SubmitSagaAsync(store, saga, sagaId: "p1");
                var lease = await ClaimOneAsync(cx, store, "p1");
                await store.AppendAsync(cx, new SagaLogEntry("p1", SagaTransition.StepStarted, 0, "1", cx.UtcNow), lease);
                ledger.Apply(StepContext(saga, "p1", 0), 0);
                await store.AppendAsync(cx, new SagaLogEntry("p1", SagaTransition.StepCompleted, 0, null, cx.UtcNow), lease);
                await store.AppendAsync(cx, new SagaLogEntry("p1", SagaTransition.StepStarted, 1, "1", cx.UtcNow), lease);
                if (lease is not null) await store.ReleaseAsync(cx, lease);
            }
            await using var restarted = await OpenAsync(cx);
            return await cx.RecoverSagasAsync(restarted, new SagaRegistry(saga));
        });
        var r = Assert.Single(report.Results);
        Assert.Equal(SagaState.Completed, r.State);
        Assert.Equal([1, 2, 1], r.Steps.Select(s => s.Starts));
        Assert.Equal(1, ledger.Calls.Count(c => c == "p1/0"));
    }

    private static async Task<SagaLease?> ClaimOneAsync(Cx cx, SagaLogStore store, string id)
    {
        var claims = await store.ClaimAsync(cx, 10);
        var mine = Assert.Single(claims, c => c.SagaId == id);
        return store.SupportsLeases ? mine : null;
    }

    internal static SagaStepContext StepContext(Saga saga, string id, int step) => new(id, saga.Name, null, saga.Steps[step], 1, false, false, null);

    /// <summary>Writes one saga, damages its log with <paramref name="damage"/>, and checks that reading and recovery refuse it with nothing applied.</summary>
    private async Task AssertCorruptionIsRefusedAsync(string damage, string expected, long expectedSequence)
    {
        var ledger = new Ledger();
        var saga = Sagas.Build("k", ledger, Three, TimeSpan.Zero);
        await Run(async cx =>
        {
            await using var store = await OpenAsync(cx);
            await cx.SubmitSagaAsync(store, saga, input: "some input", sagaId: "k1");
            var lease = await ClaimOneAsync(cx, store, "k1");
            await store.AppendAsync(cx, new SagaLogEntry("k1", SagaTransition.StepStarted, 0, "1", cx.UtcNow), lease);
            await store.AppendAsync(cx, new SagaLogEntry("k1", SagaTransition.StepCompleted, 0, "output of step zero", cx.UtcNow), lease);
            if (lease is not null) await store.ReleaseAsync(cx, lease);
            return 0;
        });
        await ExecAsync(damage);
        var (read, recover, after) = await Run(async cx =>
        {
            await using var store = await OpenAsync(cx);
            SagaStoreException? read = null, recover = null;
            try
            {
                await store.ReadAsync(cx, "k1");
            }
            catch (SagaStoreException e)
            {
                read = e;
            }
            try
            {
                await cx.RecoverSagasAsync(store, new SagaRegistry(saga));
            }
            catch (SagaStoreException e)
            {
                recover = e;
            }
            return (read, recover, await store.ListUnfinishedAsync(cx));
        });
        var e = Assert.IsType<SagaLogCorruptException>(read);
        Assert.Equal("k1", e.SagaId);
        Assert.Equal(expectedSequence, e.Sequence);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.IsType<SagaLogCorruptException>(recover);
        Assert.Empty(ledger.Calls);          // nothing half applied
        Assert.Equal(["k1"], after);         // and the saga is left as it was, for a human
    }

    [Fact]
    public Task CorruptRecord_ChangedData_IsRefused() =>
        AssertCorruptionIsRefusedAsync("UPDATE {log} SET data = 'output of step one' WHERE saga_id = 'k1' AND seq = 3;", "checksum mismatch", 3);

    [Fact]
    public Task TruncatedRecord_CutData_IsRefused() =>
        AssertCorruptionIsRefusedAsync("UPDATE {log} SET data = substr(data, 1, 7) WHERE saga_id = 'k1' AND seq = 1;", "checksum mismatch", 1);

    [Fact]
    public Task MissingRecord_IsRefused() =>
        AssertCorruptionIsRefusedAsync("DELETE FROM {log} WHERE saga_id = 'k1' AND seq = 2;", "record 2 is missing", 2);

    [Fact]
    public Task UnknownTransition_IsRefused() =>
        AssertCorruptionIsRefusedAsync("UPDATE {log} SET transition = 99 WHERE saga_id = 'k1' AND seq = 2;", "unknown transition code 99", 2);

    [Fact]
    public Task RecordFromANewerFormat_IsRefused() =>
        AssertCorruptionIsRefusedAsync("UPDATE {log} SET v = 2 WHERE saga_id = 'k1' AND seq = 3;", "format version 2", 3);

    [Fact]
    public async Task NewerSchemaVersion_IsRefusedAtOpen_AndNothingChanges()
    {
        await Run(async cx =>
        {
            await using var store = await OpenAsync(cx);
            await cx.SubmitSagaAsync(store, new Saga("v").Step("a", (_, _) => Task.CompletedTask, null), sagaId: "v1");
            return 0;
        });
        await ExecAsync("UPDATE {meta} SET value = '7' WHERE key = 'schema_version';");
        var error = await Run(async cx =>
        {
            try
            {
                await using var store = await OpenAsync(cx);
                return null;
            }
            catch (SagaStoreException e)
            {
                return e;
            }
        });
        var e = Assert.IsType<SagaStoreSchemaException>(error);
        Assert.Equal(7, e.FoundVersion);
        Assert.Equal(1, e.SupportedVersion);
        Assert.Contains("newer than this library supports", e.Message, StringComparison.Ordinal);
        await ExecAsync("UPDATE {meta} SET value = '1' WHERE key = 'schema_version';");
        var log = await Run(async cx =>
        {
            await using var store = await OpenAsync(cx);
            return await store.ReadAsync(cx, "v1");
        });
        Assert.Single(log); // the refused open changed nothing
    }

    [Fact]
    public async Task UnreachableStore_AtStart_IsAClearError()
    {
        var error = await Run(async cx =>
        {
            try
            {
                await using var store = await OpenUnreachableAsync(cx);
                return null;
            }
            catch (SagaStoreException e)
            {
                return e;
            }
        });
        Assert.IsType<SagaStoreUnavailableException>(error);
    }
}

public sealed class SqliteStoreTests : SqlStoreContract
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "asupersync-sagas-" + Guid.NewGuid().ToString("N"));

    private string DbPath => Path.Combine(_dir, "sagas.db");

    public override Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        return Task.CompletedTask;
    }

    public override Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    protected override async ValueTask<SagaLogStore> OpenAsync(Cx cx) => await SqliteSagaLogStore.OpenAsync(cx, DbPath);

    protected override async ValueTask<SagaLogStore> OpenUnreachableAsync(Cx cx) => await SqliteSagaLogStore.OpenAsync(cx, Path.Combine(_dir, "no-such-dir", "sagas.db"));

    protected override Task ExecAsync(string sql)
    {
        using var conn = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql.Replace("{log}", "asupersync_saga_log", StringComparison.Ordinal).Replace("{meta}", "asupersync_saga_meta", StringComparison.Ordinal).Replace("{sagas}", "asupersync_sagas", StringComparison.Ordinal);
        cmd.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task SecondOpener_IsRefused_WhileTheFirstHoldsTheLog()
    {
        var error = await TestRuntime.RunAsync(async cx =>
        {
            await using var first = await OpenAsync(cx);
            try
            {
                await using var second = await OpenAsync(cx);
                return null;
            }
            catch (SagaStoreException e)
            {
                return e;
            }
        });
        Assert.Contains("in use by another process", Assert.IsType<SagaStoreUnavailableException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotADatabase_IsRefusedAtOpen()
    {
        await File.WriteAllTextAsync(DbPath, "this is not a SQLite file, it is a text file long enough to have a header.........");
        var error = await TestRuntime.RunAsync(async cx =>
        {
            try
            {
                await using var s = await OpenAsync(cx);
                return null;
            }
            catch (SagaStoreException e)
            {
                return e;
            }
        });
        Assert.IsType<SagaStoreUnavailableException>(error);
    }

    [Fact]
    public async Task GroupCommit_ConcurrentTransitions_ShareOneFsyncPerBatch()
    {
        var ledger = new Ledger();
        var saga = Sagas.Build("wide", ledger, Enumerable.Repeat(SagaOpKind.Send, 32).ToArray(), TimeSpan.Zero);
        var (records, commits) = await TestRuntime.RunAsync(async cx =>
        {
            await using var store = await OpenAsync(cx);
            Assert.True((await cx.SagaAsync(saga, new SagaOptions { Store = store })).IsOk);
            return (store.RecordsAppended, store.Commits);
        });
        Assert.Equal(66, records);
        Assert.True(commits < records / 2, $"{commits} commits for {records} records");
    }
}

public sealed class PostgresStoreTests : SqlStoreContract
{
    private readonly string _schema = "t_" + Guid.NewGuid().ToString("N")[..12];

    internal static string ConnectionString => Asupersync.TestSupport.TestPostgres.ConnectionString;

    private PostgresSagaLogStoreOptions Options(TimeSpan? lease = null, string? worker = null) =>
        new() { Schema = _schema, LeaseDuration = lease ?? TimeSpan.FromSeconds(30), WorkerId = worker };

    public override async Task DisposeAsync()
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE;", conn);
        await cmd.ExecuteNonQueryAsync();
    }

    protected override async ValueTask<SagaLogStore> OpenAsync(Cx cx) => await PostgresSagaLogStore.OpenAsync(cx, ConnectionString, Options());

    protected override async ValueTask<SagaLogStore> OpenUnreachableAsync(Cx cx)
    {
        var csb = new NpgsqlConnectionStringBuilder(ConnectionString) { Port = 1, Timeout = 3 };
        return await PostgresSagaLogStore.OpenAsync(cx, csb.ToString(), Options());
    }

    protected override async Task ExecAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql.Replace("{log}", $"\"{_schema}\".asupersync_saga_log", StringComparison.Ordinal)
            .Replace("{meta}", $"\"{_schema}\".asupersync_saga_meta", StringComparison.Ordinal).Replace("{sagas}", $"\"{_schema}\".asupersync_sagas", StringComparison.Ordinal), conn);
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Claims_SkipLockedAndHeldSagas_AndTakeOverAfterTheLeaseExpires()
    {
        var saga = new Saga("c").Step("a", (_, _) => Task.CompletedTask, null);
        // Long enough that a loaded machine cannot let the leases expire between the claims and the "everything is
        // held" check (300 ms did, under a load average of 70); the sleep then waits twice the lease.
        var lease = TimeSpan.FromSeconds(5);
        var (a1, b1, b2, stale, renewed) = await TestRuntime.RunAsync(async cx =>
        {
            await using var a = await PostgresSagaLogStore.OpenAsync(cx, ConnectionString, Options(lease, "A"));
            await using var b = await PostgresSagaLogStore.OpenAsync(cx, ConnectionString, Options(lease, "B"));
            for (int i = 0; i < 4; i++) await cx.SubmitSagaAsync(a, saga, sagaId: "c" + Sagas.Str(i));
            // Concurrent claims never share a saga (FOR UPDATE SKIP LOCKED).
            IReadOnlyList<SagaLease> x = [], y = [];
            await cx.RegionAsync("claim together", rcx =>
            {
                rcx.Spawn("A", async c => x = await a.ClaimAsync(c, 3));
                rcx.Spawn("B", async c => y = await b.ClaimAsync(c, 3));
                return Task.CompletedTask;
            });
            Assert.Equal(4, x.Count + y.Count);
            Assert.Empty(x.Select(l => l.SagaId).Intersect(y.Select(l => l.SagaId)));
            var a1 = x.Concat(y).Single(l => l.SagaId == "c0");
            var holder = a1.Owner == "A" ? a : b;
            var other = a1.Owner == "A" ? b : a;
            var b1 = await other.ClaimAsync(cx, 10); // everything is held
            await cx.SleepAsync(lease * 2);
            var b2 = await other.ClaimAsync(cx, 10);  // all four leases expired
            SagaLeaseLostException? stale = null;
            try
            {
                await holder.AppendAsync(cx, new SagaLogEntry("c0", SagaTransition.StepStarted, 0, "1", cx.UtcNow), a1);
            }
            catch (SagaLeaseLostException e)
            {
                stale = e;
            }
            bool renewed = await holder.RenewAsync(cx, a1);
            return (a1, b1, b2, stale, renewed);
        });
        Assert.Empty(b1);
        Assert.Equal(4, b2.Count);
        Assert.Equal(a1.Epoch + 1, b2.Single(l => l.SagaId == "c0").Epoch);
        Assert.NotNull(stale);
        Assert.False(renewed);
    }

    [Fact]
    public async Task Heartbeat_KeepsRenewing_WhileACancelledSagaCompensates()
    {
        // Long enough that a loaded machine's scheduling delays do not lose it. The compensation (2.5 leases) outlives
        // the default 5 s cleanup allowance of the ParentCancelled that reaches the saga's step region, so this runtime
        // raises the allowances: what is tested is the heartbeat, not the budget (a CI machine once ran out of it).
        // 6 s: the heartbeat renews every 2 s, so a renewal may be late by up to 4 s (a loaded 2-core machine's stalls)
        // before a claim could steal the saga.
        var lease = TimeSpan.FromSeconds(6);
        var allowances = new Dictionary<CancelKind, TimeSpan>
        {
            [CancelKind.User] = TimeSpan.FromSeconds(45),
            [CancelKind.ParentCancelled] = TimeSpan.FromSeconds(45),
        };
        var ledger = new Ledger();
        var saga = new Saga("undo")
            .Step("a", (_, s) => { ledger.Apply(s, 0); return Task.CompletedTask; }, async (cx, s) =>
            {
                await cx.SleepAsync(lease * 2.5);
                ledger.Apply(s, 0);
            })
            .Step("b", (cx, _) => cx.SleepAsync(TimeSpan.FromMinutes(1)).AsTask(), null);
        var options = new RuntimeOptions { WorkerCount = 2, CleanupAllowances = allowances };
        var (o, stolen) = await TestRuntime.RunAsync(options, async cx =>
        {
            await using var a = await PostgresSagaLogStore.OpenAsync(cx, ConnectionString, Options(lease, "A"));
            await using var b = await PostgresSagaLogStore.OpenAsync(cx, ConnectionString, Options(lease, "B"));
            Outcome<SagaResult> o = default;
            var run = cx.Spawn("A runs", async c => o = await c.SagaAsync(saga, new SagaOptions { Store = a, SagaId = "undo1" }));
            await cx.SleepAsync(lease);
            run.Cancel(Budget.Timeout(TimeSpan.FromSeconds(40)));
            int stolen = 0;
            for (int i = 0; i < 4; i++)
            {
                await cx.SleepAsync(lease / 2);
                stolen += (await b.ClaimAsync(cx, 10)).Count;
            }
            await run.JoinAsync(cx);
            return (o, stolen);
        });
        Assert.True(o.IsCancelled, o.ToString());
        Assert.True(ledger.IsApplied("undo1/0/undo"));
        Assert.Equal(0, stolen);
    }

    [Fact]
    public async Task Heartbeat_KeepsALongSagaOwned_PastManyLeaseDurations()
    {
        var lease = TimeSpan.FromSeconds(6); // renewed every 2 s: a renewal may be up to 4 s late (load average 70 seen) before the lease is lost
        var saga = new Saga("long").Step("wait", (cx, _) => cx.SleepAsync(lease * 2.5).AsTask(), null);
        var (o, stolen) = await TestRuntime.RunAsync(async cx =>
        {
            await using var a = await PostgresSagaLogStore.OpenAsync(cx, ConnectionString, Options(lease, "A"));
            await using var b = await PostgresSagaLogStore.OpenAsync(cx, ConnectionString, Options(lease, "B"));
            var run = cx.Spawn("A runs", c => c.SagaAsync(saga, new SagaOptions { Store = a, SagaId = "long1" }));
            int stolen = 0;
            for (int i = 0; i < 4; i++)
            {
                await cx.SleepAsync(lease / 2);
                stolen += (await b.ClaimAsync(cx, 10)).Count;
            }
            return (await run.ValueAsync(cx), stolen);
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(0, stolen);
    }
}
