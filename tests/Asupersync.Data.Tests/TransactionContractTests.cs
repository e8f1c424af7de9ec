using System.Data.Common;

namespace Asupersync.Data.Tests;

/// <summary>The transaction-as-obligation contract, run against each real database (one derived class per provider).</summary>
public abstract class TransactionContractTests : IAsyncLifetime
{
    protected static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    /// <summary>A new, closed connection to the test database (accounts 1: 100, 2: 0, 3: 0 after <see cref="ResetAsync"/>).</summary>
    protected abstract DbConnection Create();

    /// <summary>Creates or refills the accounts table.</summary>
    protected abstract Task ResetAsync();

    public virtual async Task InitializeAsync() => await ResetAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected static async Task<(Outcome<Unit> Outcome, RuntimeDiagnostics Diagnostics)> RunAsync(Func<Cx, Task> body)
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        var outcome = await rt.RunAsync(body).WaitAsync(HangGuard);
        return (outcome, rt.Diagnostics);
    }

    protected async Task<(long A, long B)> BalancesAsync()
    {
        await using var c = Create();
        await c.OpenAsync();
        return (await Bank.BalanceAsync(c, 1), await Bank.BalanceAsync(c, 2));
    }

    [Fact]
    public async Task Commit_AppliesBothStatements_AndCommitsTheObligation()
    {
        ObligationState? state = null;
        var (outcome, diag) = await RunAsync(async cx =>
        {
            await using var conn = Create();
            await cx.OpenAsync(conn);
            await using var tx = await cx.BeginTransactionAsync(conn);
            Assert.Equal(ObligationKind.IoOp, tx.Obligation.Kind);
            Assert.Equal(ObligationState.Reserved, tx.State);
            await tx.ExecuteAsync(Bank.Add, ("d", -30L), ("id", 1L));
            await tx.ExecuteAsync(Bank.Add, ("d", 30L), ("id", 2L));
            Assert.Equal(70L, await tx.ScalarAsync<long>(Bank.Balance, ("id", 1L)));
            await tx.CommitAsync();
            state = tx.State;
        });
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal(ObligationState.Committed, state);
        Assert.Equal(0, diag.ObligationsLeaked);
        Assert.Equal((70L, 30L), await BalancesAsync());
    }

    [Fact]
    public async Task CancelBetweenStatements_LeavesNoPartialWrite()
    {
        CxTransaction? held = null;
        var (outcome, diag) = await RunAsync(async cx =>
        {
            var between = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var h = cx.Spawn("transfer", async cx =>
            {
                await using var conn = Create();
                await cx.OpenAsync(conn);
                await using var tx = await cx.BeginTransactionAsync(conn);
                held = tx;
                await tx.ExecuteAsync(Bank.Add, ("d", -30L), ("id", 1L));
                between.TrySetResult();
                await cx.SleepAsync(TimeSpan.FromHours(1)); // the cancel lands here, between the two statements
                await tx.ExecuteAsync(Bank.Add, ("d", 30L), ("id", 2L));
                await tx.CommitAsync();
            });
            await cx.AwaitAsync(between.Task);
            h.Cancel(message: "test cancel");
            var o = await h.JoinAsync(cx);
            Assert.True(o.IsCancelled, o.ToString());
        });
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal(ObligationState.Aborted, held!.State);
        Assert.Contains("cancelled", held.Obligation.AbortReason!.Message, StringComparison.Ordinal);
        Assert.Equal(0, diag.ObligationsLeaked);
        Assert.Equal((100L, 0L), await BalancesAsync());
    }

    [Fact]
    public async Task CancelBeforeCommit_RaisesAtCommit_AndCommitsNothing()
    {
        CxTransaction? held = null;
        var (outcome, _) = await RunAsync(async cx =>
        {
            // CancelRegion cancels the holder's whole region, so the holder gets a region of its own.
            var inner = await cx.RegionAsync("holder", async cx =>
            {
                await using var conn = Create();
                await cx.OpenAsync(conn);
                await using var tx = await cx.BeginTransactionAsync(conn);
                held = tx;
                await tx.ExecuteAsync(Bank.Add, ("d", -30L), ("id", 1L));
                await tx.ExecuteAsync(Bank.Add, ("d", 30L), ("id", 2L));
                cx.CancelRegion("cancelled just before commit"); // requested, not yet acknowledged
                await tx.CommitAsync();
                throw new InvalidOperationException("CommitAsync must raise the pending cancel");
            });
            Assert.True(inner.IsCancelled, inner.ToString());
        });
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal(ObligationState.Aborted, held!.State);
        Assert.Equal((100L, 0L), await BalancesAsync());
    }

    [Fact]
    public async Task Panic_RollsBack_AndAbortsTheObligation()
    {
        CxTransaction? held = null;
        var (outcome, diag) = await RunAsync(async cx =>
        {
            await using var conn = Create();
            await cx.OpenAsync(conn);
            await using var tx = await cx.BeginTransactionAsync(conn);
            held = tx;
            await tx.ExecuteAsync(Bank.Add, ("d", -30L), ("id", 1L));
            throw new InvalidOperationException("boom between statements");
        });
        Assert.True(outcome.IsPanicked, outcome.ToString());
        Assert.Equal(ObligationState.Aborted, held!.State);
        Assert.Equal(0, diag.ObligationsLeaked);
        Assert.Equal((100L, 0L), await BalancesAsync());
    }

    [Fact]
    public async Task ForgottenCommit_IsAReportedLeak_AndRolledBack()
    {
        CxTransaction? held = null;
        var (outcome, diag) = await RunAsync(async cx =>
        {
            await using var conn = Create();
            await cx.OpenAsync(conn);
            await using var tx = await cx.BeginTransactionAsync(conn);
            held = tx;
            await tx.ExecuteAsync(Bank.Add, ("d", -30L), ("id", 1L));
            // returns Ok without CommitAsync or RollbackAsync
        });
        Assert.True(outcome.IsErr, outcome.ToString());
        Assert.IsType<ObligationLeakedException>(outcome.Error);
        Assert.Contains("database transaction", outcome.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(ObligationState.Leaked, held!.State);
        Assert.Equal(1, diag.ObligationsLeaked);
        Assert.Equal((100L, 0L), await BalancesAsync());
    }

    [Fact]
    public async Task NeverDisposed_CancelledHolder_IsRolledBackByTheRuntime()
    {
        CxTransaction? held = null;
        DbConnection? connection = null;
        var (outcome, _) = await RunAsync(async cx =>
        {
            var between = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var h = cx.Spawn("careless", async cx =>
            {
                connection = Create();
                await cx.OpenAsync(connection);
                held = await cx.BeginTransactionAsync(connection); // no await using
                await held.ExecuteAsync(Bank.Add, ("d", -30L), ("id", 1L));
                between.TrySetResult();
                await cx.SleepAsync(TimeSpan.FromHours(1));
            });
            await cx.AwaitAsync(between.Task);
            h.Cancel();
            Assert.True((await h.JoinAsync(cx)).IsCancelled);
        });
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal(ObligationState.Aborted, held!.State);
        // The connection is still open: only the rollback can have undone the debit.
        Assert.Equal(System.Data.ConnectionState.Open, connection!.State);
        Assert.Equal(100L, await Bank.BalanceAsync(connection, 1));
        await connection.DisposeAsync();
        Assert.Equal((100L, 0L), await BalancesAsync());
    }

    [Fact]
    public async Task ExplicitRollback_AfterAHandledFailure_IsNotALeak()
    {
        CxTransaction? held = null;
        var (outcome, diag) = await RunAsync(async cx =>
        {
            await using var conn = Create();
            await cx.OpenAsync(conn);
            var tx = await cx.BeginTransactionAsync(conn);
            held = tx;
            try
            {
                await using (tx)
                {
                    await tx.ExecuteAsync(Bank.Add, ("d", -30L), ("id", 1L));
                    await tx.ExecuteAsync("THIS IS NOT SQL");
                }
            }
            catch (DbException)
            {
                await tx.RollbackAsync("bad statement handled"); // after disposal: only resolves the obligation
            }
        });
        Assert.True(outcome.IsOk, outcome.ToString());
        Assert.Equal(ObligationState.Aborted, held!.State);
        Assert.Equal(0, diag.ObligationsLeaked);
        Assert.Equal((100L, 0L), await BalancesAsync());
    }

    [Fact]
    public async Task UseAfterCommit_IsRejected()
    {
        var (outcome, _) = await RunAsync(async cx =>
        {
            await using var conn = Create();
            await cx.OpenAsync(conn);
            await using var tx = await cx.BeginTransactionAsync(conn);
            await tx.CommitAsync();
            await Assert.ThrowsAsync<InvalidOperationException>(() => tx.ExecuteAsync(Bank.Add, ("d", 1L), ("id", 1L)));
            await Assert.ThrowsAsync<InvalidOperationException>(() => tx.CommitAsync());
            await Assert.ThrowsAsync<InvalidOperationException>(() => tx.RollbackAsync());
        });
        Assert.True(outcome.IsOk, outcome.ToString());
    }

    [Fact]
    public async Task NarrowedCxWithoutIO_IsRefused_AndAClosedConnectionIsAClearError()
    {
        var (outcome, _) = await RunAsync(async cx =>
        {
            await using var conn = Create();
            await Assert.ThrowsAsync<CapabilityException>(() => cx.Narrow(Capabilities.All & ~Capabilities.IO).BeginTransactionAsync(conn));
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => cx.BeginTransactionAsync(conn));
            Assert.Contains("must be open", e.Message, StringComparison.Ordinal);
        });
        Assert.True(outcome.IsOk, outcome.ToString());
    }
}
