using Asupersync.Lab;
using Asupersync.Lab.Chaos;
using Asupersync.Lab.Exploration;

namespace Asupersync.Lab.Tests;

public class LabTestTests
{
    private static readonly string TraceDir = Path.Combine(Path.GetTempPath(), "asupersync-lab-tests");

    [Fact]
    public void ForSeeds_PassesOnCorrectProgram() =>
        LabTest.ForSeeds(50, Programs.LostUpdate(fixedVariant: true));

    [Fact]
    public void ForSeeds_FailsWithSeedOracleTracePathAndReplayCommand_AndReplaysTheTrace()
    {
        var ex = Assert.Throws<LabFailureException>(() =>
            LabTest.ForSeeds(200, Programs.LeakOnOneInterleaving(false), new LabOptions { TraceDirectory = TraceDir }));
        Assert.Contains($"seed {ex.Result.Seed}", ex.Message);
        Assert.Contains("oracle ObligationLeak", ex.Message);
        Assert.Contains("trace: ", ex.Message);
        Assert.Contains("ASUPERSYNC_LAB_REPLAY=", ex.Message);
        Assert.Contains(nameof(ForSeeds_FailsWithSeedOracleTracePathAndReplayCommand_AndReplaysTheTrace), ex.Message);
        Assert.Contains("the failure reproduces", ex.Message);
        Assert.True(File.Exists(ex.Result.TracePath));

        // The same failure, replayed from its trace in this test.
        var replay = LabRuntime.Replay(ex.Result.TracePath!, Programs.LeakOnOneInterleaving(false));
        Assert.Contains(replay.OracleFailures, f => f.Oracle == LabOracles.ObligationLeak);
        Assert.True(replay.Trace.SameAs(LabTrace.Load(ex.Result.TracePath!)) || replay.Trace.Decisions.SequenceEqual(ex.Result.Trace.Decisions));
    }

    [Fact]
    public void ReplayVariable_RunsOnlyTheRecordedTrace_OfTheNamedTest()
    {
        const string name = "replay-variable-test";
        var options = new LabOptions { TraceDirectory = TraceDir, ProgramName = name };
        var first = Assert.Throws<LabFailureException>(() => LabTest.ForSeeds(200, Programs.LeakOnOneInterleaving(false), options));
        Environment.SetEnvironmentVariable(LabTest.ReplayVariable, first.Result.TracePath);
        try
        {
            // Other tests running meanwhile have other names, so they ignore the variable.
            var again = Assert.Throws<LabFailureException>(() => LabTest.ForSeeds(200, Programs.LeakOnOneInterleaving(false), options));
            Assert.StartsWith("Replayed trace failed", again.Message);
            Assert.Equal(first.Result.Trace.Decisions, again.Result.Trace.Decisions);
            Assert.Equal("replay", again.Result.Trace.Strategy);
        }
        finally
        {
            Environment.SetEnvironmentVariable(LabTest.ReplayVariable, null);
        }
    }

    [Fact]
    public void Explore_FailsOnSeededBug_AndPassesOnFix()
    {
        var ex = Assert.Throws<LabFailureException>(() => LabTest.Explore(Programs.CancelBetweenReserveAndCommit(false), new ExploreOptions { Lab = new LabOptions { TraceDirectory = TraceDir } }));
        Assert.Contains("half-done transfer", ex.Message);
        Assert.Contains("the failure reproduces", ex.Message);
        var replay = LabRuntime.Replay(ex.Result.TracePath!, Programs.CancelBetweenReserveAndCommit(false));
        Assert.True(replay.Outcome!.Value.IsPanicked);

        var ok = LabTest.Explore(Programs.CancelBetweenReserveAndCommit(true));
        Assert.True(ok.Exhausted);
    }

    [Fact]
    public void Chaos_IsDeterministicPerSeed_AndFindsCancelUnsafeCode()
    {
        var chaos = new LabOptions { Chaos = ChaosOptions.Heavy };
        var a = LabRuntime.Run(17, Programs.Workers(3, 10), chaos);
        var b = LabRuntime.Run(17, Programs.Workers(3, 10), chaos);
        Assert.True(a.Trace.SameAs(b.Trace));

        int cancels = 0, delays = 0;
        for (ulong s = 0; s < 30; s++)
        {
            var r = LabRuntime.Run(s, Programs.Workers(3, 10), chaos);
            cancels += r.Trace.Events.Count(e => e.Kind == LabEventKind.ChaosCancel);
            delays += r.Trace.Events.Count(e => e.Kind == LabEventKind.ChaosDelay);
        }
        Assert.True(cancels > 0 && delays > 0, $"cancels {cancels}, delays {delays}");

        // A spurious cancel between debit and credit breaks the plain transfer; the obligation-based one holds.
        var transfer = new LabOptions { Chaos = new ChaosOptions("transfer", 0.3, 0, TimeSpan.Zero) };
        var ex = Assert.Throws<LabFailureException>(() => LabTest.ForSeeds(100, ChaosTransfer(false), transfer));
        Assert.Contains("the failure reproduces", ex.Message);            // replayed from its trace, chaos included
        Assert.Contains(ex.Result.Trace.Events, e => e.Kind == LabEventKind.ChaosCancel);
        LabTest.ForSeeds(100, ChaosTransfer(true), transfer);
    }

    private static Func<Cx, Task> ChaosTransfer(bool useObligation) => async cx =>
    {
        var debited = new LabVar<int>("debited");
        var credited = new LabVar<int>("credited");
        var t = cx.Spawn("transfer", async cx =>
        {
            using var ob = useObligation ? cx.Reserve(ObligationKind.IoOp, "transfer") : null;
            if (useObligation)
            {
                await cx.YieldAsync();
                await cx.YieldAsync();   // a cancel raised here aborts the reservation
            }
            debited.Write(cx, 10);
            if (!useObligation)
            {
                await cx.YieldAsync();
                await cx.YieldAsync();   // a cancel raised here leaves the debit without its credit
            }
            credited.Write(cx, 10);
            ob?.Commit();
        });
        await t.JoinAsync(cx);
        if (debited.Value != credited.Value) throw new InvalidOperationException("half-done transfer");
    };
}
