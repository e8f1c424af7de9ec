// Side-by-side saga benchmarks (docs/PERFORMANCE.md, "Sagas"). Each figure is measured against a plain .NET baseline
// in the same run, repeated, and reported as median (min–max).
//
//   dotnet run -c Release --project bench/SagaBench -- [--pg "<connection string>"] [--rounds N]
//
// 1. CALM batching: a saga of 32 monotone steps against a slow fake service (each call 20 ms on the runtime clock),
//    CALM plan vs the sequential plan vs the .NET baseline Task.WhenAll(32 × Task.Delay(20 ms)) — one latency.
// 2. Saga steps/s with a durable log: sagas of 4 non-monotone (sequential) steps with instant actions, one saga at a
//    time and 16 at once, on SQLite and PostgreSQL; baseline: the same number of log rows written with plain ADO.NET,
//    one INSERT + COMMIT per row, one writer (what a durable log without group commit does).
using System.Diagnostics;
using System.Globalization;
using Asupersync;
using Asupersync.Sagas;
using Microsoft.Data.Sqlite;
using Npgsql;

var inv = CultureInfo.InvariantCulture;
string? pg = null;
int rounds = 5;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--pg" && i + 1 < args.Length) pg = args[++i];
    else if (args[i] == "--rounds" && i + 1 < args.Length) rounds = int.Parse(args[++i], inv);
}
pg ??= Environment.GetEnvironmentVariable("ASUPERSYNC_PG");
var dir = Path.Combine(Path.GetTempPath(), "sagabench-" + Environment.ProcessId.ToString(inv));
Directory.CreateDirectory(dir);
await using var rt = Runtime.Create();
Console.WriteLine($"SagaBench: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {rounds} rounds, load average {LoadAverage()}");

if (args.Contains("--probe"))
{
    // Diagnostics only: one sequential saga run and one baseline run, for strace.
    var probe = new Saga("probe");
    for (int i = 0; i < 4; i++) probe.Step("step " + i.ToString(inv), (_, _) => Task.CompletedTask, null, SagaOpKind.Commit);
    await using var ps = await Open(c => SqliteSagaLogStore.OpenAsync(c, Path.Combine(dir, "probe.db")).AsTask());
    var sw = Stopwatch.StartNew();
    await RunMany(probe, ps, 100, concurrency: 1);
    Console.WriteLine($"probe sagas: {sw.Elapsed.TotalMilliseconds:F0} ms, {ps.RecordsAppended} records, {ps.Commits} commits");
    sw.Restart();
    await using var praw = OpenRawSqlite(Path.Combine(dir, "probe-raw.db"));
    await RawSqliteAsync(praw, 1000);
    Console.WriteLine($"probe raw: {sw.Elapsed.TotalMilliseconds:F0} ms, 1000 rows");
    return 0;
}

// ------------------------------------------------------------------ 1. CALM batching
var latency = TimeSpan.FromMilliseconds(20);
const int Wide = 32;
var wide = new Saga("wide");
for (int i = 0; i < Wide; i++) wide.Step("send " + i.ToString(inv), (cx, _) => cx.SleepAsync(latency).AsTask(), null, SagaOpKind.Send);
Console.WriteLine(wide.Explain().Split('\n')[0]);
await using (var sqlite = await Open(c => SqliteSagaLogStore.OpenAsync(c, Path.Combine(dir, "calm.db")).AsTask()))
{
    var t = await Interleaved(rounds,
        async () => await Task.WhenAll(Enumerable.Range(0, Wide).Select(_ => Task.Delay(latency))),
        () => RunSaga(wide, SagaPlanning.Calm, null),
        () => RunSaga(wide, SagaPlanning.Sequential, null),
        () => RunSaga(wide, SagaPlanning.Calm, sqlite));
    Report("32 monotone steps x 20 ms: .NET baseline Task.WhenAll(32 x Task.Delay(20 ms))", t[0]);
    Report("  saga, CALM plan (one stage), in-memory log", t[1], t[0]);
    Report("  saga, sequential plan, in-memory log", t[2], t[0]);
    Report("  saga, CALM plan, SQLite log", t[3], t[0]);
    Console.WriteLine($"  CALM speed-up over the sequential plan: {MedianRatio(t[2], t[1]):F1}x; SQLite: {sqlite.RecordsAppended} records in {sqlite.Commits} commits");
}

// ------------------------------------------------------------------ 2. steps/s with a durable log
var four = new Saga("four");
for (int i = 0; i < 4; i++) four.Step("step " + i.ToString(inv), (_, _) => Task.CompletedTask, null, SagaOpKind.Commit);
const int Sagas = 100;
const int Records = Sagas * (2 + 4 * 2); // per saga: started, 4 x (started, completed), completed
await using (var sqlite = await Open(c => SqliteSagaLogStore.OpenAsync(c, Path.Combine(dir, "steps.db")).AsTask()))
await using (var raw = OpenRawSqlite(Path.Combine(dir, "raw.db")))
{
    var t = await Interleaved(rounds,
        () => RawSqliteAsync(raw, Records),
        () => RunMany(four, sqlite, Sagas, concurrency: 1),
        () => RunMany(four, sqlite, Sagas, concurrency: 16));
    StepsReport("SQLite", t, sqlite);
}
if (pg is null)
{
    Console.WriteLine("PostgreSQL: skipped (no --pg and no ASUPERSYNC_PG)");
}
else
{
    var schema = "bench_" + Environment.ProcessId.ToString(inv);
    await using (var store = await Open(c => PostgresSagaLogStore.OpenAsync(c, pg, new PostgresSagaLogStoreOptions { Schema = schema }).AsTask()))
    {
        var t = await Interleaved(rounds,
            () => RawPgAsync(pg, schema, Records),
            () => RunMany(four, store, Sagas, concurrency: 1),
            () => RunMany(four, store, Sagas, concurrency: 16));
        StepsReport("PostgreSQL", t, store);
    }
    await using var conn = new NpgsqlConnection(pg);
    await conn.OpenAsync();
    await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE;", conn);
    await drop.ExecuteNonQueryAsync();
}
Directory.Delete(dir, recursive: true);
return 0;

// ------------------------------------------------------------------ helpers

async Task<T> Open<T>(Func<Cx, Task<T>> open) => (await rt.RunAsync(open)).GetValueOrThrow();

async Task RunSaga(Saga saga, SagaPlanning planning, SagaLogStore? store)
{
    var o = await rt.RunAsync(cx => cx.SagaAsync(saga, new SagaOptions { Planning = planning, Store = store }));
    if (!o.GetValueOrThrow().IsOk) throw new InvalidOperationException("saga failed");
}

async Task RunMany(Saga saga, SagaLogStore store, int count, int concurrency)
{
    var o = await rt.RunAsync(async cx =>
    {
        var gate = new Asupersync.Sync.AsyncSemaphore(concurrency);
        await cx.RegionAsync("many", rcx =>
        {
            for (int i = 0; i < count; i++)
            {
                rcx.Spawn("saga", async c =>
                {
                    using var permit = await gate.AcquireAsync(c);
                    var r = await c.SagaAsync(saga, new SagaOptions { Store = store });
                    if (!r.IsOk) throw new InvalidOperationException("saga failed: " + r);
                });
            }
            return Task.CompletedTask;
        });
    });
    o.GetValueOrThrow();
}

// The same SQLite settings as the saga store (WAL, synchronous=FULL, exclusive locking) on a connection kept open
// across rounds like the store's (SQLite deletes the WAL when the last connection closes, and a growing WAL makes
// every fsync dearer than an overwritten one), one INSERT + COMMIT per row.
static SqliteConnection OpenRawSqlite(string path)
{
    var conn = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
    conn.Open();
    using var p = conn.CreateCommand();
    p.CommandText = "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;" +
        "CREATE TABLE log (saga_id TEXT NOT NULL, seq INTEGER NOT NULL, transition INTEGER NOT NULL, step INTEGER NOT NULL, data TEXT, time_ticks INTEGER NOT NULL, checksum INTEGER NOT NULL, v INTEGER NOT NULL, PRIMARY KEY (saga_id, seq)) WITHOUT ROWID;";
    p.ExecuteNonQuery();
    return conn;
}

static Task RawSqliteAsync(SqliteConnection conn, int rows)
{
    using var cmd = conn.CreateCommand();
    cmd.CommandText = "INSERT INTO log VALUES ($s, $q, 2, 0, NULL, 0, 0, 1);";
    var s = cmd.Parameters.Add("$s", SqliteType.Text);
    var q = cmd.Parameters.Add("$q", SqliteType.Integer);
    var run = Guid.NewGuid().ToString("N");
    for (int i = 0; i < rows; i++)
    {
        using var tx = conn.BeginTransaction(deferred: false);
        cmd.Transaction = tx;
        s.Value = run + (i / 10).ToString(CultureInfo.InvariantCulture);
        q.Value = i;
        cmd.ExecuteNonQuery();
        tx.Commit();
    }
    return Task.CompletedTask;
}

static async Task RawPgAsync(string cs, string schema, int rows)
{
    await using var conn = new NpgsqlConnection(cs);
    await conn.OpenAsync();
    var table = $"\"{schema}\".raw_log";
    await using (var c = new NpgsqlCommand($"CREATE SCHEMA IF NOT EXISTS \"{schema}\"; DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (saga_id text NOT NULL, seq bigint NOT NULL, transition int NOT NULL, step int NOT NULL, data text, time_ticks bigint NOT NULL, checksum bigint NOT NULL, v int NOT NULL, PRIMARY KEY (saga_id, seq));", conn))
        await c.ExecuteNonQueryAsync();
    await using var cmd = new NpgsqlCommand($"INSERT INTO {table} VALUES (@s, @q, 2, 0, NULL, 0, 0, 1);", conn);
    var s = new NpgsqlParameter<string>("s", "");
    var q = new NpgsqlParameter<long>("q", 0L);
    cmd.Parameters.Add(s);
    cmd.Parameters.Add(q);
    for (int i = 0; i < rows; i++)
    {
        s.TypedValue = "saga" + (i / 10).ToString(CultureInfo.InvariantCulture);
        q.TypedValue = i;
        await cmd.ExecuteNonQueryAsync();
    }
}

// Runs every body once to warm up, then `n` rounds of all bodies in turn, so that each round's figures were taken
// under the same machine conditions (fsync latency on this shared machine moves a lot between minutes).
static async Task<double[][]> Interleaved(int n, params Func<Task>[] bodies)
{
    foreach (var b in bodies) await b();
    var times = bodies.Select(_ => new double[n]).ToArray();
    for (int i = 0; i < n; i++)
    {
        for (int j = 0; j < bodies.Length; j++)
        {
            var sw = Stopwatch.StartNew();
            await bodies[j]();
            times[j][i] = sw.Elapsed.TotalSeconds;
        }
    }
    return times;
}

static double Median(double[] xs)
{
    var s = xs.Order().ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

// The median over rounds of a[i] / b[i] (same-round ratios).
static double MedianRatio(double[] a, double[] b) => Median(a.Zip(b, (x, y) => x / y).ToArray());

void Report(string what, double[] t, double[]? baseline = null)
{
    var ratio = baseline is null ? "" : $"  = {MedianRatio(t, baseline):F2}x the baseline's time";
    Console.WriteLine($"{what}: {Median(t) * 1000:F1} ms ({t.Min() * 1000:F1}-{t.Max() * 1000:F1}){ratio}");
}

void StepsReport(string what, double[][] t, SagaLogStore store)
{
    const int Steps = Sagas * 4;
    // Baseline steps/s: a step is two records (started, completed), each one INSERT + COMMIT.
    var baseline = t[0].Select(x => Records / x / 2).ToArray();
    Console.WriteLine($"{what}: .NET baseline, {Records} rows, one INSERT + COMMIT each: {Records / Median(t[0]):F0} rows/s = {Median(baseline):F0} steps/s");
    foreach (var (label, k) in new[] { ("one saga at a time", 1), ("16 sagas at once", 2) })
    {
        var steps = t[k].Select(x => Steps / x).ToArray();
        var ratio = Median(steps.Zip(baseline, (a, b) => a / b).ToArray());
        Console.WriteLine($"  {what} log, {Sagas} sagas x 4 steps, {label}: {Median(steps):F0} steps/s ({steps.Min():F0}-{steps.Max():F0}) = {ratio:F2}x baseline steps/s");
    }
    Console.WriteLine($"  ({store.RecordsAppended} records in {store.Commits} commits over all rounds)");
}

static string LoadAverage()
{
    try
    {
        return File.ReadAllText("/proc/loadavg").Split(' ')[0];
    }
    catch (IOException)
    {
        return "?";
    }
}
