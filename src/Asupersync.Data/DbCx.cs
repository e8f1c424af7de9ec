using System.Data;
using System.Data.Common;

namespace Asupersync.Data;

/// <summary>ADO.NET operations on a <see cref="Cx"/>: transactions as obligations.</summary>
public static class DbCx
{
    /// <summary>
    /// Begins a transaction on an open <paramref name="connection"/>, held as an <see cref="ObligationKind.IoOp"/>
    /// obligation of <paramref name="cx"/>'s task (see <see cref="CxTransaction"/> for what commits, rolls back and
    /// leaks). Needs <see cref="Capabilities.IO"/>. A checkpoint; the BEGIN gets the task's cancel token.
    /// </summary>
    /// <param name="cx">The holder's context.</param>
    /// <param name="connection">An open connection of any ADO.NET provider (SQLite, PostgreSQL, …).</param>
    /// <param name="isolation">The isolation level (default: the provider's).</param>
    /// <returns>The transaction; <c>await using</c> it.</returns>
    /// <exception cref="CapabilityException">The Cx does not grant IO.</exception>
    /// <exception cref="InvalidOperationException">The connection is not open, or the call is not from the Cx's own task.</exception>
    /// <exception cref="RegionClosedException">The region no longer admits obligations (the transaction is rolled back).</exception>
    /// <example>
    /// <code>
    /// await using var tx = await cx.BeginTransactionAsync(connection);
    /// await tx.ExecuteAsync("INSERT INTO orders(id) VALUES (@id)", ("id", 42));
    /// await tx.CommitAsync();
    /// </code>
    /// </example>
    public static Task<CxTransaction> BeginTransactionAsync(this Cx cx, DbConnection connection, IsolationLevel isolation = IsolationLevel.Unspecified)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(connection);
        return CxTransaction.BeginAsync(cx, connection, isolation);
    }

    /// <summary>Opens <paramref name="connection"/> with the task's cancel token. Needs <see cref="Capabilities.IO"/>; a checkpoint.</summary>
    /// <param name="cx">The caller's context.</param>
    /// <param name="connection">A closed connection.</param>
    /// <returns>A task completing once open.</returns>
    public static async Task OpenAsync(this Cx cx, DbConnection connection)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(connection);
        cx.Require(Capabilities.IO);
        cx.Checkpoint();
        await connection.OpenAsync(cx.CancellationToken);
    }
}
