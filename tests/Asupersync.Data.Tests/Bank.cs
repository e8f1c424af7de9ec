using System.Data.Common;

namespace Asupersync.Data.Tests;

/// <summary>The seed's bank-transfer example, written once against ADO.NET and run on SQLite, PostgreSQL and <see cref="MemoryDb"/>.</summary>
internal static class Bank
{
    public const string Add = "UPDATE accounts SET balance = balance + @d WHERE id = @id";
    public const string Balance = "SELECT balance FROM accounts WHERE id = @id";
    public const string Sum = "SELECT SUM(balance) FROM accounts";

    /// <summary>Moves <paramref name="amount"/> in one transaction; <paramref name="between"/> runs between the two statements.</summary>
    public static async Task TransferAsync(Cx cx, DbConnection connection, long from, long to, long amount, Func<Cx, Task>? between = null)
    {
        await using var tx = await cx.BeginTransactionAsync(connection);
        await tx.ExecuteAsync(Add, ("d", -amount), ("id", from));
        if (between is null) await cx.YieldAsync(); else await between(cx);
        await tx.ExecuteAsync(Add, ("d", amount), ("id", to));
        await tx.CommitAsync();
    }

    /// <summary>The same transfer as two autocommitted statements: a cancel between them loses money.</summary>
    public static async Task TransferPlainAsync(Cx cx, DbConnection connection, long from, long to, long amount)
    {
        await Exec(cx, connection, Add, -amount, from);
        await cx.YieldAsync();
        await Exec(cx, connection, Add, amount, to);
    }

    public static async Task<long> TotalAsync(DbConnection connection)
    {
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = Sum;
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task<long> BalanceAsync(DbConnection connection, long id)
    {
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = Balance;
        var p = cmd.CreateParameter();
        p.ParameterName = "id";
        p.Value = id;
        cmd.Parameters.Add(p);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task Exec(Cx cx, DbConnection connection, string sql, long d, long id)
    {
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in new[] { ("d", d), ("id", id) })
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            cmd.Parameters.Add(p);
        }
        await cmd.ExecuteNonQueryAsync(cx.CancellationToken);
    }
}
