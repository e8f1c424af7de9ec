using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Asupersync.Data.Tests;

/// <summary>The contract on SQLite (a file database per test, so several connections see one another's commits).</summary>
public sealed class SqliteTransactionTests : TransactionContractTests
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"asupersync-data-{Guid.NewGuid():N}.db");

    private string ConnectionString => new SqliteConnectionStringBuilder { DataSource = _path, Pooling = false }.ToString();

    protected override DbConnection Create() => new SqliteConnection(ConnectionString);

    protected override async Task ResetAsync()
    {
        await using var c = new SqliteConnection(ConnectionString);
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL); INSERT INTO accounts VALUES (1, 100), (2, 0), (3, 0);";
        await cmd.ExecuteNonQueryAsync();
    }

    public override Task DisposeAsync()
    {
        foreach (var f in new[] { _path, _path + "-journal", _path + "-wal", _path + "-shm" })
        {
            try { File.Delete(f); } catch (IOException) { }
        }
        return Task.CompletedTask;
    }
}
