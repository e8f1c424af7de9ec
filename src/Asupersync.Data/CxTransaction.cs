using System.Data;
using System.Data.Common;

namespace Asupersync.Data;

/// <summary>
/// A database transaction held as an <see cref="ObligationKind.IoOp"/> obligation of the task that began it
/// (<see cref="DbCx.BeginTransactionAsync"/>): <see cref="CommitAsync"/> commits it; a holder that ends Cancelled or
/// Panicked has it rolled back (Aborted — nothing half written, nothing leaked); a holder that ends Ok or Err without
/// committing or rolling back has <em>leaked</em> it: it is rolled back too, and the runtime reports the leak in the
/// holder's outcome and diagnostics.
/// </summary>
/// <remarks>
/// <para><b>Cancel-safety.</b> Statements run with the holder's <see cref="Cx.CancellationToken"/>, so a cancel stops
/// a running statement at the driver's next opportunity, and every statement helper is a checkpoint, so a cancel
/// landing between two statements is raised before the next one. Either way the transaction is never committed
/// by a cancelled holder and its writes are rolled back. <see cref="CommitAsync"/> is the commit point: it is a
/// checkpoint <em>before</em> it sends COMMIT; once COMMIT is sent, a cancel no longer interrupts it — its result is
/// awaited and recorded (Committed, or Aborted when the database refused), so a commit that happened is never
/// reported as cancelled.</para>
/// <para><b>Disposal.</b> <c>await using</c> rolls back an open transaction on every exit path (asynchronously, in
/// the holder's own step, without its cancel token). When the holder is being cancelled the obligation is then
/// Aborted; otherwise it stays Reserved for the runtime to judge at the holder's end: Panicked (an exception
/// escaped) → Aborted, Ok or Err → Leaked. A holder that handles a failure and means to roll back says so with
/// <see cref="RollbackAsync"/> (allowed after disposal too). A transaction the holder never disposed is rolled back
/// synchronously when the runtime resolves the obligation.</para>
/// <para>Only the holder task may use it; statements of other tasks must use their own connection and
/// transaction.</para>
/// </remarks>
/// <example>
/// <code>
/// await using var tx = await cx.BeginTransactionAsync(connection);
/// await tx.ExecuteAsync("UPDATE accounts SET balance = balance - @amount WHERE id = @from", ("amount", 10), ("from", 1));
/// await tx.ExecuteAsync("UPDATE accounts SET balance = balance + @amount WHERE id = @to", ("amount", 10), ("to", 2));
/// await tx.CommitAsync();   // a cancel before this line leaves neither update behind
/// </code>
/// </example>
public sealed class CxTransaction : IAsyncDisposable
{
    private readonly Cx _cx;
    private Obligation _obligation = null!;

    // 0: open at the database; 1: finished there (committed, rolled back, or given up). Set once, by whoever
    // finishes it: the holder's own calls or the obligation's resolve hook when the runtime aborts it.
    private int _finished;

    private CxTransaction(Cx cx, DbConnection connection, DbTransaction transaction)
    {
        _cx = cx;
        Connection = connection;
        Transaction = transaction;
    }

    internal static async Task<CxTransaction> BeginAsync(Cx cx, DbConnection connection, IsolationLevel isolation)
    {
        cx.Require(Capabilities.IO);
        cx.Checkpoint();
        if (connection.State != ConnectionState.Open)
            throw new InvalidOperationException($"The connection must be open to begin a transaction (it is {connection.State}); open it with OpenAsync(cx.CancellationToken) first.");
        // A plain await: the continuation comes back through the task's context, and the driver honours the token.
        // It is not abandoned on cancel (AwaitAsync would): a transaction begun meanwhile must not be left behind.
        var transaction = await connection.BeginTransactionAsync(isolation, cx.CancellationToken);
        var tx = new CxTransaction(cx, connection, transaction);
        try
        {
            tx._obligation = cx.Reserve(ObligationKind.IoOp, $"database transaction on '{connection.Database}'", tx.OnResolved);
        }
        catch
        {
            await transaction.DisposeAsync(); // the region refused the obligation: roll back at once
            throw;
        }
        return tx;
    }

    /// <summary>The connection the transaction runs on.</summary>
    public DbConnection Connection { get; }

    /// <summary>The ADO.NET transaction, for commands built by other libraries (assign it to their <see cref="DbCommand.Transaction"/>).</summary>
    public DbTransaction Transaction { get; }

    /// <summary>The obligation that tracks the transaction in the holder's region ledger.</summary>
    public Obligation Obligation => _obligation;

    /// <summary>The obligation's state: Reserved while open, then Committed, Aborted or Leaked.</summary>
    public ObligationState State => _obligation.State;

    /// <summary>Creates a command enlisted in the transaction.</summary>
    /// <param name="sql">The command text.</param>
    /// <param name="parameters">Named parameters.</param>
    /// <returns>The command; the caller disposes it.</returns>
    public DbCommand CreateCommand(string sql, params (string Name, object? Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(sql);
        ArgumentNullException.ThrowIfNull(parameters);
        EnsureOpen();
        var cmd = Connection.CreateCommand();
        cmd.Transaction = Transaction;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    /// <summary>Runs a statement in the transaction. A checkpoint; the statement gets the holder's cancel token.</summary>
    /// <param name="sql">The statement.</param>
    /// <param name="parameters">Named parameters.</param>
    /// <returns>The number of rows affected.</returns>
    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        _cx.Checkpoint();
        Asupersync.Kernel.IoChaos.BeforeEffect(_cx, "a statement");   // Lab chaos only (ChaosOptions.IoOpFailureProbability)
        await using var cmd = CreateCommand(sql, parameters);
        return await cmd.ExecuteNonQueryAsync(_cx.CancellationToken);
    }

    /// <summary>Runs a query in the transaction and returns the first column of its first row. A checkpoint.</summary>
    /// <typeparam name="T">The value's type (converted with <see cref="Convert.ChangeType(object, Type, IFormatProvider)"/>).</typeparam>
    /// <param name="sql">The query.</param>
    /// <param name="parameters">Named parameters.</param>
    /// <returns>The value, or default when there is no row or it is NULL.</returns>
    public async Task<T?> ScalarAsync<T>(string sql, params (string Name, object? Value)[] parameters)
    {
        _cx.Checkpoint();
        Asupersync.Kernel.IoChaos.BeforeEffect(_cx, "a query");
        await using var cmd = CreateCommand(sql, parameters);
        var value = await cmd.ExecuteScalarAsync(_cx.CancellationToken);
        if (value is null or DBNull) return default;
        if (value is T t) return t;
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return (T)Convert.ChangeType(value, type, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Commits the transaction and the obligation. A checkpoint before COMMIT is sent (a pending cancel raises and
    /// nothing is committed); after that the commit runs to its end whatever cancel arrives.
    /// </summary>
    /// <returns>A task completing once committed.</returns>
    /// <exception cref="InvalidOperationException">Already committed or rolled back, or not the holder.</exception>
    /// <exception cref="DbException">The database refused the commit: the transaction is rolled back and the obligation Aborted.</exception>
    /// <exception cref="IOException">Under the Lab's I/O chaos only: an injected failure before COMMIT was sent, handled the same way.</exception>
    public async Task CommitAsync()
    {
        _cx.Checkpoint();
        EnsureOpen();
        Volatile.Write(ref _finished, 1);
        try
        {
            Asupersync.Kernel.IoChaos.BeforeEffect(_cx, "COMMIT");      // Lab chaos: fails as a refused commit would
            // Not the cancel token: a COMMIT that was sent must be awaited, or a committed effect could be
            // reported as cancelled. The driver's command timeout bounds it.
            await Transaction.CommitAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            _obligation.Abort("commit failed: " + e.Message);
            await Transaction.DisposeAsync();
            throw;
        }
        _obligation.Commit();
        await Transaction.DisposeAsync();
    }

    /// <summary>
    /// Rolls the transaction back and aborts the obligation: the way to say "I mean to undo this" (for instance
    /// after handling a failed statement). Allowed after <see cref="DisposeAsync"/> rolled it back; then it only
    /// resolves the obligation.
    /// </summary>
    /// <param name="message">Why, for diagnostics.</param>
    /// <returns>A task completing once rolled back.</returns>
    /// <exception cref="InvalidOperationException">Already committed or aborted, or not the holder.</exception>
    public async Task RollbackAsync(string? message = null)
    {
        if (_obligation.State != ObligationState.Reserved)
            throw new InvalidOperationException($"The transaction is already {_obligation.State}; it cannot be rolled back.");
        if (Interlocked.Exchange(ref _finished, 1) == 0) await RollbackQuietlyAsync();
        _obligation.Abort(message ?? "rolled back");
    }

    /// <summary>
    /// Rolls back a transaction that is still open (without the cancel token: cleanup must run while draining).
    /// Aborts the obligation when the holder is being cancelled; otherwise leaves it for the runtime to judge at the
    /// holder's end (Panicked → Aborted, Ok or Err → Leaked). Harmless when already finished.
    /// </summary>
    /// <returns>A task completing once rolled back.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0) return;
        await RollbackQuietlyAsync();
        if (_cx.IsCancelRequested && _obligation.State == ObligationState.Reserved)
            _obligation.Abort("rolled back: the holder was cancelled (" + _cx.CancelReason + ")");
    }

    private async Task RollbackQuietlyAsync()
    {
        try
        {
            await Transaction.RollbackAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            // A broken connection: the server rolls back a transaction whose session ended; nothing is left to undo.
        }
        await Transaction.DisposeAsync();
    }

    private void OnResolved(Obligation obligation, ObligationState state)
    {
        if (state == ObligationState.Committed || Interlocked.Exchange(ref _finished, 1) != 0) return;
        // The runtime aborted (or marked leaked) an obligation whose transaction the holder never finished or
        // disposed: the holder has ended, so nothing else uses the connection; roll back synchronously here.
        try
        {
            Transaction.Rollback();
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            // Already gone with its connection.
        }
        Transaction.Dispose();
    }

    private void EnsureOpen()
    {
        if (Volatile.Read(ref _finished) != 0 || _obligation.State != ObligationState.Reserved)
            throw new InvalidOperationException($"The transaction is already finished ({_obligation.State}).");
    }
}
