using System.Collections.Concurrent;
using System.Diagnostics;
using Asupersync.Sagas.CrashWorker;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Asupersync.Sagas.Tests;

/// <summary>
/// Crash tests with a real child process: a worker running sagas (tests/Asupersync.Sagas.CrashWorker) stops dead at a
/// numbered step boundary — a durable log transition or an applied effect — and is killed there with SIGKILL, then
/// restarted; again and again until a run finishes. Afterwards every saga must be completed or fully compensated, with
/// each effect applied at most once per idempotency key. On SQLite and on PostgreSQL; and with two PostgreSQL workers,
/// killing one must lead the other to finish its sagas once their leases expired.
/// </summary>
/// <remarks>The set of kill points is bounded (every 2nd / 3rd / 5th boundary of each run) to keep the tests short.</remarks>
public sealed class CrashTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(180); // a hang guard, not a timing assertion (six worker processes at once on a loaded 2-core machine)
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "asupersync-crash-" + Guid.NewGuid().ToString("N"));
    private readonly string _schema = "crash_" + Guid.NewGuid().ToString("N")[..12];
    private readonly List<string> _schemas = [];

    /// <summary>Where one scenario keeps its log and its fake service's effects: isolated, so scenarios run in parallel.</summary>
    private sealed record Env(Func<Cx, ValueTask<SagaLogStore>> Open, string[] Args, string Effects);

    private Env SqliteEnv(string name)
    {
        var log = Path.Combine(_dir, name + ".db");
        var effects = Path.Combine(_dir, name + "-effects.db");
        return new Env(async cx => await SqliteSagaLogStore.OpenAsync(cx, log), ["--store", "sqlite:" + log, "--effects", effects], effects);
    }

    private Env PostgresEnv(string name, params string[] extra)
    {
        var schema = _schema + "_" + name;
        lock (_schemas) _schemas.Add(schema);
        var effects = Path.Combine(_dir, name + "-effects.db");
        return new Env(async cx => await PostgresSagaLogStore.OpenAsync(cx, PostgresStoreTests.ConnectionString, new PostgresSagaLogStoreOptions { Schema = schema }),
            ["--store", "postgres:" + schema, "--effects", effects, .. extra], effects);
    }

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        if (_schemas.Count == 0) return;
        await using var conn = new NpgsqlConnection(PostgresStoreTests.ConnectionString);
        await conn.OpenAsync();
        foreach (var schema in _schemas)
        {
            await using var cmd = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE;", conn);
            await cmd.ExecuteNonQueryAsync();
        }
    }

    /// <summary>A worker process and what it printed.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly Process _p;
        private readonly TaskCompletionSource<string?> _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal ConcurrentQueue<string> Lines { get; } = new();

        internal Worker(IEnumerable<string> args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Asupersync.Sagas.CrashWorker.dll"));
            foreach (var a in args) psi.ArgumentList.Add(a);
            _p = new Process { StartInfo = psi };
            _p.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    _paused.TrySetResult(null);
                    return;
                }
                Lines.Enqueue(e.Data);
                if (e.Data.StartsWith("PAUSED ", StringComparison.Ordinal)) _paused.TrySetResult(e.Data);
            };
            _p.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null) Lines.Enqueue("stderr: " + e.Data);
            };
            _p.Start();
            _p.BeginOutputReadLine();
            _p.BeginErrorReadLine();
        }

        /// <summary>The PAUSED line, or null when the worker ran to its end instead.</summary>
        internal async Task<string?> PausedOrEndedAsync() => await _paused.Task.WaitAsync(Guard);

        internal async Task<int> ExitCodeAsync()
        {
            await _p.WaitForExitAsync().WaitAsync(Guard);
            return _p.ExitCode;
        }

        /// <summary>SIGKILL (Process.Kill sends SIGKILL on Unix): no finally, no flush, no goodbye.</summary>
        internal async Task KillAsync()
        {
            _p.Kill();
            await _p.WaitForExitAsync().WaitAsync(Guard);
        }

        internal string Output => string.Join("\n", Lines);

        public void Dispose()
        {
            if (!_p.HasExited) _p.Kill();
            _p.Dispose();
        }
    }

    private static async Task SubmitAsync(Func<Cx, ValueTask<SagaLogStore>> open, params (string Saga, string Id)[] sagas)
    {
        var registry = Definitions.Registry(null, TimeSpan.Zero, _ => { });
        await TestRuntime.RunAsync(async cx =>
        {
            await using var store = await open(cx);
            foreach (var (name, id) in sagas)
            {
                registry.TryGet(name, out var saga);
                await cx.SubmitSagaAsync(store, saga!, sagaId: id);
            }
            return 0;
        });
    }

    /// <summary>Runs the worker to its end (no kill); returns the kind of each boundary it passed, in order.</summary>
    private static async Task<string[]> RunToEndAsync(string[] args)
    {
        using var w = new Worker(args);
        Assert.Null(await w.PausedOrEndedAsync());
        int code = await w.ExitCodeAsync();
        Assert.True(code == 0, $"worker exited {code}:\n{w.Output}");
        Assert.Contains(w.Lines, l => l.StartsWith("DONE ", StringComparison.Ordinal) && l.Contains("0 skipped", StringComparison.Ordinal));
        return w.Lines.Where(l => l.StartsWith("RECORD ", StringComparison.Ordinal) || l.StartsWith("EFFECT ", StringComparison.Ordinal))
            .Select(l => l.StartsWith("EFFECT ", StringComparison.Ordinal) ? "EFFECT" : l.Split(' ')[3]).ToArray();
    }

    /// <summary>Starts the worker, SIGKILLs it at its <paramref name="point"/>-th boundary (of <paramref name="kind"/>, when given); returns the PAUSED line (null when it finished first).</summary>
    private static async Task<string?> KillAtAsync(string[] args, int point, string? kind = null)
    {
        using var w = new Worker([.. args, "--pause-at", Sagas.Str(point), .. kind is null ? Array.Empty<string>() : ["--pause-kind", kind]]);
        var paused = await w.PausedOrEndedAsync();
        if (paused is null)
        {
            Assert.Equal(0, await w.ExitCodeAsync());
            return null;
        }
        await w.KillAsync();
        return paused;
    }

    /// <summary>
    /// The kill points are step boundaries named by kind and occurrence — "the 2nd StepCompleted", "the 3rd EFFECT" —
    /// taken from a full run: every <paramref name="stride"/>-th occurrence of every kind (always the first), so every
    /// kind of boundary is covered and the set stays bounded. For each point, in a fresh environment: submit an order
    /// saga and a declined saga, start the worker, SIGKILL it at that boundary, restart it (for every fourth point kill
    /// the restarted one too, at its second boundary), let it finish, and check the invariants. Six points at a time.
    /// </summary>
    private async Task KillAtEveryBoundaryAsync(Func<string, Env> env, int stride)
    {
        var full = env("full");
        await SubmitAsync(full.Open, ("order", "o"), ("declined", "d"));
        var kinds = await RunToEndAsync(full.Args);
        await VerifyAsync(full, ["o"], ["d"]);
        Assert.InRange(kinds.Length, 25, 60);
        var points = kinds.GroupBy(k => k).SelectMany(g => Enumerable.Range(1, g.Count()).Where(i => (i - 1) % stride == 0).Select(i => (Kind: g.Key, Occurrence: i))).ToArray();
        var killedAt = new ConcurrentBag<string>();
        long deduplicated = 0;
        int n = 0;
        foreach (var batch in points.Chunk(6))
        {
            await Task.WhenAll(batch.Select(async point =>
            {
                int index = Interlocked.Increment(ref n);
                var e = env("p" + Sagas.Str(index));
                await SubmitAsync(e.Open, ("order", "o"), ("declined", "d"));
                if (await KillAtAsync(e.Args, point.Occurrence, point.Kind) is { } at) killedAt.Add(at);
                if (index % 4 == 0 && await KillAtAsync(e.Args, 2) is { } again) killedAt.Add(again); // a crash during recovery
                await RunToEndAsync(e.Args);
                await VerifyAsync(e, ["o"], ["d"]);
                Interlocked.Add(ref deduplicated, Deduplicated(e.Effects));
            }));
        }
        Assert.True(killedAt.Count >= points.Length, $"only {killedAt.Count} kills for {points.Length} points");
        AssertCoverage(killedAt, deduplicated);
    }

    /// <summary>The invariants, from the log (every saga final, its log valid) and the service's effects.</summary>
    private static async Task VerifyAsync(Env env, string[] orders, string[] declined)
    {
        var open = env.Open;
        var (unfinished, logs) = await TestRuntime.RunAsync(async cx =>
        {
            await using var store = await open(cx);
            var logs = new Dictionary<string, SagaLogState>();
            foreach (var id in orders.Concat(declined)) logs[id] = SagaLogState.Replay(id, await store.ReadAsync(cx, id)); // throws if damaged
            return (await store.ListUnfinishedAsync(cx, includeCompensationFailed: true), logs);
        });
        Assert.Empty(unfinished);
        var effects = new List<(string Key, string Saga, int Step, bool Compensation, long Order)>();
        using (var conn = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = env.Effects, Pooling = false }.ToString()))
        {
            conn.Open();
            using var cmd = conn.CreateCommand();
            cmd.CommandText = "SELECT key, saga, step, compensation, ord FROM effects ORDER BY ord;";
            using var r = cmd.ExecuteReader();
            while (r.Read()) effects.Add((r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3) == 1, r.GetInt64(4)));
        }
        // At most once per idempotency key (the service's primary key), and keys are stable: one effect per saga step.
        Assert.All(effects.GroupBy(e => (e.Saga, e.Step, e.Compensation)), g => Assert.Single(g));
        foreach (var id in orders)
        {
            Assert.Equal(SagaState.Completed, logs[id].State);
            Assert.Equal([0, 1, 2, 3], effects.Where(e => e.Saga == id && !e.Compensation).Select(e => e.Step).Order());
            Assert.DoesNotContain(effects, e => e.Saga == id && e.Compensation);
        }
        foreach (var id in declined)
        {
            Assert.Equal(SagaState.Compensated, logs[id].State);
            Assert.Equal([0, 1], effects.Where(e => e.Saga == id && !e.Compensation).Select(e => e.Step).Order());
            Assert.Equal([2, 1, 0], effects.Where(e => e.Saga == id && e.Compensation).OrderBy(e => e.Order).Select(e => e.Step)); // LIFO
        }
    }

    private static long Deduplicated(string effects)
    {
        using var conn = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = effects, Pooling = false }.ToString());
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT (SELECT count(*) FROM calls) - (SELECT count(*) FROM effects);";
        return (long)cmd.ExecuteScalar()!;
    }

    private static void AssertCoverage(IReadOnlyCollection<string> killedAt, long deduplicated)
    {
        // The bounded set of kill points still hit every kind of boundary: before an effect, between an effect and its
        // record, after a completion, and inside the compensation phase.
        Assert.Contains(killedAt, k => k.Contains(" StepStarted ", StringComparison.Ordinal));
        Assert.Contains(killedAt, k => k.Contains(" EFFECT ", StringComparison.Ordinal));
        Assert.Contains(killedAt, k => k.Contains(" StepCompleted ", StringComparison.Ordinal));
        Assert.Contains(killedAt, k => k.Contains("Compensat", StringComparison.Ordinal) || k.Contains("/undo", StringComparison.Ordinal));
        Assert.True(deduplicated > 0, "no restart re-ran an effect whose record had not been written");
    }

    [Fact]
    public Task Sqlite_SigkillAtStepBoundaries_EverySagaEndsCompletedOrCompensated_EffectsAtMostOnce() =>
        KillAtEveryBoundaryAsync(SqliteEnv, stride: 3);

    [Fact]
    public Task Postgres_SigkillAtStepBoundaries_EverySagaEndsCompletedOrCompensated_EffectsAtMostOnce()
    {
        _ = PostgresStoreTests.ConnectionString; // fail, not skip, without a server
        // A killed worker's leases must expire before the restarted one claims its sagas: keep them short — but not so
        // short that a live worker's heartbeat misses them on a loaded machine (300 ms did, under load average 70).
        return KillAtEveryBoundaryAsync(name => PostgresEnv(name, "--lease-ms", "1000", "--until", "all"), stride: 3);
    }

    [Fact]
    public async Task Postgres_TwoWorkers_KillingOne_TheOtherFinishesItsSagasAfterTheLease()
    {
        _ = PostgresStoreTests.ConnectionString;
        var ids = Enumerable.Range(0, 6).Select(i => "t" + Sagas.Str(i)).ToArray();
        var env = PostgresEnv("two", "--lease-ms", "4000", "--max", "3", "--step-ms", "150");
        await SubmitAsync(env.Open, ids.Select(id => ("order", id)).ToArray());
        string[] common = env.Args;
        using var a = new Worker([.. common, "--worker", "A", "--pause-at", "7"]);
        // Let A claim its three sagas first, then start B, which claims the other three (FOR UPDATE SKIP LOCKED).
        var deadline = DateTime.UtcNow + Guard;
        while (!a.Lines.Any(l => l.StartsWith("RECORD ", StringComparison.Ordinal)) && DateTime.UtcNow < deadline) await Task.Delay(20);
        using var b = new Worker([.. common, "--worker", "B", "--until", "all"]);
        Assert.NotNull(await a.PausedOrEndedAsync());
        await a.KillAsync();
        var touchedByA = a.Lines.Where(l => l.StartsWith("RECORD ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).Distinct().ToArray();
        Assert.NotEmpty(touchedByA);
        Assert.Equal(0, await b.ExitCodeAsync());
        var touchedByB = b.Lines.Where(l => l.StartsWith("RECORD ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).Distinct().ToArray();
        Assert.Subset(touchedByB.ToHashSet(), touchedByA.ToHashSet()); // B finished every saga A had started
        Assert.Equal(ids.Order(), touchedByA.Union(touchedByB).Order());
        await VerifyAsync(env, ids, []);
        // A's sagas were claimed twice (A, then B after the lease expired); B's own once.
        await using var conn = new NpgsqlConnection(PostgresStoreTests.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"SELECT id, epoch FROM \"{_schema}_two\".asupersync_sagas;", conn);
        await using var r = await cmd.ExecuteReaderAsync();
        var epochs = new Dictionary<string, long>();
        while (await r.ReadAsync()) epochs[r.GetString(0)] = r.GetInt64(1);
        foreach (var id in touchedByA) Assert.Equal(2, epochs[id]);
        foreach (var id in ids.Except(touchedByA)) Assert.Equal(1, epochs[id]);
    }
}
