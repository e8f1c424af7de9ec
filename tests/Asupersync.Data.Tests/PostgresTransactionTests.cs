using System.Data.Common;
using Npgsql;

namespace Asupersync.Data.Tests;

/// <summary>
/// The contract on PostgreSQL (ASUPERSYNC_PG, started by .ci/run), each test in a schema of its own, plus what
/// only a server shows: a cancel interrupting a running statement, and concurrent transfers under random cancels.
/// </summary>
public sealed class PostgresTransactionTests : TransactionContractTests
{
    private readonly string _schema = "bridges_tx_" + Guid.NewGuid().ToString("N")[..12];

    internal static string BaseConnectionString => Asupersync.TestSupport.TestPostgres.ConnectionString;

    private string ConnectionString => new NpgsqlConnectionStringBuilder(BaseConnectionString) { SearchPath = _schema }.ToString();

    protected override DbConnection Create() => new NpgsqlConnection(ConnectionString);

    protected override async Task ResetAsync()
    {
        await using var c = new NpgsqlConnection(BaseConnectionString);
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = $"CREATE SCHEMA {_schema}; CREATE TABLE {_schema}.accounts (id bigint PRIMARY KEY, balance bigint NOT NULL); INSERT INTO {_schema}.accounts VALUES (1, 100), (2, 0), (3, 0);";
        await cmd.ExecuteNonQueryAsync();
    }

    public override async Task DisposeAsync()
    {
        await using var c = new NpgsqlConnection(BaseConnectionString);
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = $"DROP SCHEMA IF EXISTS {_schema} CASCADE";
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task CancelDuringARunningStatement_StopsIt_AndRollsBack()
    {
        CxTransaction? held = null;
        var (outcome, _) = await RunAsync(async cx =>
        {
            var sleeping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var h = cx.Spawn("slow", async cx =>
            {
                await using var conn = Create();
                await cx.OpenAsync(conn);
                await using var tx = await cx.BeginTransactionAsync(conn);
                held = tx;
                await tx.ExecuteAsync(Bank.Add, ("d", -30L), ("id", 1L));
                sleeping.TrySetResult();
                await tx.ExecuteAsync("SELECT pg_sleep(600)"); // the token makes Npgsql cancel it on the server
                await tx.CommitAsync();
            });
            await cx.AwaitAsync(sleeping.Task);
            await cx.SleepAsync(TimeSpan.FromMilliseconds(50)); // let the statement reach the server (either way is correct)
            h.Cancel(message: "client went away");
            var o = await h.JoinAsync(cx);
            Assert.True(o.IsCancelled, o.ToString());
        });
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal(ObligationState.Aborted, held!.State);
        Assert.Equal((100L, 0L), await BalancesAsync());
    }

    [Fact]
    public async Task ConcurrentTransfers_UnderRandomCancels_ConserveMoney()
    {
        int committed = 0, cancelled = 0;
        var (outcome, diag) = await RunAsync(async cx =>
        {
            var handles = new List<TaskHandle<Unit>>();
            for (int i = 0; i < 24; i++)
            {
                long from = 1, to = 2 + (i % 2); // every transfer locks row 1 first: no deadlock cycle
                handles.Add(cx.Spawn("transfer " + i, async cx =>
                {
                    await using var conn = Create();
                    await cx.OpenAsync(conn);
                    await Bank.TransferAsync(cx, conn, from, to, 1 + (i % 5), async cx =>
                    {
                        for (int k = 0; k < cx.NextRandom(4); k++) await cx.YieldAsync();
                    });
                }));
            }
            // Cancel a random third of them at random moments.
            for (int i = 0; i < handles.Count; i++)
            {
                if (cx.NextRandom(3) != 0) continue;
                await cx.SleepAsync(TimeSpan.FromMilliseconds(cx.NextRandom(3)));
                handles[i].Cancel(message: "random cancel");
            }
            foreach (var h in handles)
            {
                var o = await h.JoinAsync(cx);
                if (o.IsOk) committed++;
                else if (o.IsCancelled) cancelled++;
                else Assert.Fail("a transfer ended " + o);
            }
        });
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal(24, committed + cancelled);
        Assert.Equal(0, diag.ObligationsLeaked);
        await using var c = Create();
        await c.OpenAsync();
        Assert.Equal(100L, await Bank.TotalAsync(c));
    }
}
