using System.Globalization;
using Asupersync.Sagas;
using Microsoft.Data.Sqlite;

namespace Asupersync.Sagas.CrashWorker;

internal sealed record Options(string Store, string Effects, int PauseAt, string? PauseKind, string? Worker, TimeSpan Lease, int Max, TimeSpan StepLatency, bool UntilAll)
{
    internal static Options Parse(string[] args)
    {
        string? Get(string name)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }
        int Int(string name, int d) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : d;
        return new Options(
            Get("--store") ?? throw new ArgumentException("--store is required"),
            Get("--effects") ?? throw new ArgumentException("--effects is required"),
            Int("--pause-at", -1),
            Get("--pause-kind"),
            Get("--worker"),
            TimeSpan.FromMilliseconds(Int("--lease-ms", 30_000)),
            Int("--max", 8),
            TimeSpan.FromMilliseconds(Int("--step-ms", 0)),
            Get("--until") == "all");
    }
}

/// <summary>Tells the worker about every durable transition.</summary>
internal sealed class Observer(Action<SagaLogRecord> onDurable) : ISagaObserver
{
    public void OnDurable(SagaLogRecord record) => onDurable(record);
}

/// <summary>
/// The fake downstream service: applies an effect at most once per idempotency key (that is its contract with the
/// saga), durably, in a SQLite file shared by every worker process; every call is recorded too.
/// </summary>
internal sealed class EffectService : IDisposable
{
    private readonly SqliteConnection _conn;
    private readonly Lock _gate = new();

    internal EffectService(string path)
    {
        _conn = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString());
        _conn.Open();
        Exec("PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
        Exec("""
            CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, saga TEXT NOT NULL, step INTEGER NOT NULL, compensation INTEGER NOT NULL, pid INTEGER NOT NULL, ord INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS calls (n INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, pid INTEGER NOT NULL);
            """);
    }

    /// <summary>Applies the effect for <paramref name="s"/>; returns false when the key was already applied (deduplicated).</summary>
    internal bool Apply(SagaStepContext s)
    {
        var key = s.IsCompensation ? s.CompensationKey : s.IdempotencyKey;
        lock (_gate)
        {
            using var tx = _conn.BeginTransaction(deferred: false);
            using var call = _conn.CreateCommand();
            call.Transaction = tx;
            call.CommandText = "INSERT INTO calls (key, pid) VALUES ($k, $p);";
            call.Parameters.AddWithValue("$k", key);
            call.Parameters.AddWithValue("$p", Environment.ProcessId);
            call.ExecuteNonQuery();
            using var ins = _conn.CreateCommand();
            ins.Transaction = tx;
            ins.CommandText = "INSERT OR IGNORE INTO effects (key, saga, step, compensation, pid, ord) VALUES ($k, $s, $i, $c, $p, (SELECT COALESCE(MAX(ord), 0) + 1 FROM effects));";
            ins.Parameters.AddWithValue("$k", key);
            ins.Parameters.AddWithValue("$s", s.SagaId);
            ins.Parameters.AddWithValue("$i", s.StepIndex);
            ins.Parameters.AddWithValue("$c", s.IsCompensation ? 1 : 0);
            ins.Parameters.AddWithValue("$p", Environment.ProcessId);
            bool applied = ins.ExecuteNonQuery() == 1;
            tx.Commit();
            return applied;
        }
    }

    private void Exec(string sql)
    {
        using var cmd = _conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose() => _conn.Dispose();
}

/// <summary>The saga definitions the crash tests submit (the tests build the same ones to submit them).</summary>
internal static class Definitions
{
    internal static SagaRegistry Registry(EffectService? service, TimeSpan latency, Action<string> afterEffect)
    {
        Func<Cx, SagaStepContext, Task> Effect(bool fail = false) => async (cx, s) =>
        {
            if (latency > TimeSpan.Zero) await cx.SleepAsync(latency);
            if (fail) throw new TaskErrorException("the card was declined");
            service!.Apply(s);
            afterEffect(s.IsCompensation ? s.CompensationKey : s.IdempotencyKey);
        };
        var order = new Saga("order")
            .Step("reserve stock", Effect(), Effect(), SagaOpKind.Reserve)
            .Step("send confirmation", Effect(), Effect(), SagaOpKind.Send)
            .Step("charge card", Effect(), Effect(), SagaOpKind.Commit)
            .Step("notify warehouse", Effect(), Effect(), SagaOpKind.Send);
        var declined = new Saga("declined")
            .Step("open account", Effect(), Effect(), SagaOpKind.Commit)
            .Step("reserve credit", Effect(), Effect(), SagaOpKind.Commit)
            .Step("charge card", Effect(fail: true), Effect(), SagaOpKind.Commit);
        return new SagaRegistry(order, declined);
    }
}
