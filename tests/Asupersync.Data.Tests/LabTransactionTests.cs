using Asupersync.Lab;
using Asupersync.Lab.Exploration;

namespace Asupersync.Data.Tests;

/// <summary>
/// The bank transfer under the Lab over <see cref="MemoryDb"/>: with two autocommitted statements exploration finds
/// the schedule where a cancel lands between them and money vanishes; as a transaction obligation no schedule does.
/// </summary>
public sealed class LabTransactionTests
{
    private static Func<Cx, Task> Program(bool transactional, MemoryDb[] last) => async cx =>
    {
        var db = new MemoryDb((1, 100), (2, 0));
        last[0] = db;
        var transfer = cx.Spawn("transfer", async cx =>
        {
            var conn = db.Connect(cx);
            await cx.OpenAsync(conn);
            if (transactional) await Bank.TransferAsync(cx, conn, 1, 2, 30);
            else await Bank.TransferPlainAsync(cx, conn, 1, 2, 30);
        });
        cx.Spawn("canceller", async cx =>
        {
            await cx.YieldAsync();
            transfer.Cancel(message: "the client went away");
        });
        await transfer.JoinAsync(cx);
        if (db.Total != 100) throw new InvalidOperationException($"money is not conserved: total {db.Total}");
    };

    [Fact]
    public void PlainStatements_ExplorationFindsTheLostMoney()
    {
        var last = new MemoryDb[1];
        var r = LabRuntime.Explore(Program(transactional: false, last), new ExploreOptions { MaxSchedules = 2_000 });
        Assert.NotEmpty(r.Failures);
        var failure = r.Failures[0];
        Assert.True(failure.Outcome!.Value.IsPanicked, failure.Describe());
        Assert.Contains("money is not conserved", failure.Outcome.Value.Exception!.Message, StringComparison.Ordinal);
        // The failing schedule replays from its seed-free trace.
        var replay = LabRuntime.Replay(failure.Trace, Program(transactional: false, last));
        Assert.False(replay.Passed);
    }

    [Fact]
    public void Transaction_EveryInterleavingConservesMoney()
    {
        var last = new MemoryDb[1];
        var r = LabRuntime.Explore(Program(transactional: true, last), new ExploreOptions { MaxSchedules = 5_000 });
        Assert.True(r.Exhausted, r.StopReason);
        Assert.Empty(r.Failures);
        Assert.True(r.DistinctClasses > 1, "exploration saw only one ordering");
    }

    [Fact]
    public void Transaction_AcrossSeeds_CommitsOrRollsBack()
    {
        int commits = 0, rollbacks = 0;
        for (ulong seed = 0; seed < 100; seed++)
        {
            var last = new MemoryDb[1];
            var r = LabRuntime.Run(seed, Program(transactional: true, last));
            Assert.True(r.Passed, r.Describe());
            commits += last[0].Commits;
            rollbacks += last[0].Rollbacks;
        }
        // The seeds reach both sides of the commit point.
        Assert.True(commits > 0 && rollbacks > 0, $"commits {commits}, rollbacks {rollbacks}");
    }

    [Fact]
    public void Transaction_UnderIoChaos_ConservesMoney_AndInjectedFailuresAbortTheObligation()
    {
        int commits = 0, rollbacks = 0, injected = 0;
        var options = new LabOptions { Chaos = Asupersync.Lab.Chaos.ChaosOptions.Network with { IoOpFailureProbability = 0.3 } };
        for (ulong seed = 0; seed < 100; seed++)
        {
            var last = new MemoryDb[1];
            var r = LabRuntime.Run(seed, async cx =>
            {
                var db = last[0] = new MemoryDb((1, 100), (2, 0));
                var transfer = cx.Spawn("transfer", async cx =>
                {
                    var conn = db.Connect(cx);
                    await cx.OpenAsync(conn);
                    await using var tx = await cx.BeginTransactionAsync(conn);
                    try
                    {
                        await tx.ExecuteAsync(Bank.Add, ("d", -30), ("id", 1));
                        await cx.YieldAsync();
                        await tx.ExecuteAsync(Bank.Add, ("d", 30), ("id", 2));
                        await tx.CommitAsync();
                    }
                    catch (IOException e) when (e.Message.StartsWith("Lab chaos", StringComparison.Ordinal))
                    {
                        // Handled: roll back (a failed COMMIT already did, and aborted the obligation).
                        if (tx.State == ObligationState.Reserved) await tx.RollbackAsync("gave up: " + e.Message);
                    }
                });
                await transfer.JoinAsync(cx);
                if (db.Total != 100) throw new InvalidOperationException($"money is not conserved: total {db.Total}");
            }, options);
            Assert.True(r.Passed, r.Describe());
            commits += last[0].Commits;
            rollbacks += last[0].Rollbacks;
            injected += r.Trace.Events.Count(e => e.Kind == LabEventKind.ChaosIoFault && e.Code == 6);
            // Every injected failure ends the obligation Aborted (never Committed, never Leaked).
            Assert.DoesNotContain(r.Trace.Events, e => e.Kind == LabEventKind.Obligation && (ObligationState)e.Code == ObligationState.Leaked);
        }
        Assert.True(injected > 0 && commits > 0 && rollbacks > 0, $"injected {injected}, commits {commits}, rollbacks {rollbacks}");
    }
}
