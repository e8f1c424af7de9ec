using Asupersync.Lab;
using Asupersync.Lab.Exploration;
using Asupersync.LabBench;
using Asupersync.Sync;

namespace Asupersync.Lab.Tests;

/// <summary>What a Lab verdict promises: Err roots fail, replay handles replay, "exhausted" only from what was seen.</summary>
public class VerdictTests
{
    internal static readonly LabOptions Sound = LabOptions.Default with { SharedState = SharedState.Undeclared, AcceptErr = false };

    private sealed class AssertionFailed(string message) : TaskErrorException(message);

    [Fact]
    public void RootEndingErr_FailsTheRun_UnlessAccepted()
    {
        Func<Cx, Task> program = cx => throw new AssertionFailed("expected 2, got 1");
        var r = LabRuntime.Run(1, program, LabOptions.Default with { AcceptErr = false });
        Assert.False(r.Passed);
        Assert.Equal(LabOracles.Err, r.FirstFailure!.Oracle);
        Assert.Contains("expected 2, got 1", r.FirstFailure.Message);
        Assert.True(LabRuntime.Run(1, program, LabOptions.Default with { AcceptErr = true }).Passed);
    }

    [Fact]
    public void ExploreResult_NamesTheFirstFailingSchedule_AndItsHandleReplaysIt()
    {
        foreach (var strategy in new[] { ExploreStrategy.Dpor, ExploreStrategy.Pct, ExploreStrategy.Portfolio })
        {
            var program = SeededBugs.TwoStage(false);
            var r = LabRuntime.Explore(program, new ExploreOptions { Strategy = strategy, PctDepth = 2, MaxSchedules = 2_000, Seed = 5 });
            var f = r.FirstFailure ?? throw new Xunit.Sdk.XunitException($"{strategy}: {r.Describe()}");
            Assert.True(r.FirstFailureSchedule >= 1 && r.FirstFailureSchedule <= r.Schedules, r.Describe());
            Assert.NotNull(r.FirstFailureStrategy);
            Assert.StartsWith("lab2:", f.ReplayHandle);
            Assert.Contains(f.ReplayHandle, f.ReplayCommand);
            var replay = LabRuntime.ReplaySchedule(f.ReplayHandle, program);
            Assert.False(replay.Passed);
            Assert.Equal(f.Trace.Decisions, replay.Trace.Decisions);
            Assert.Equal(f.OracleFailures.Select(o => o.Oracle), replay.OracleFailures.Select(o => o.Oracle));
        }
    }

    [Fact]
    public void ReplaySchedule_RejectsGarbage_AndReportsADivergentHandle()
    {
        Assert.Throws<FormatException>(() => LabRuntime.ReplaySchedule("not a handle", SeededBugs.TwoStage(false)));
        Assert.Throws<FormatException>(() => LabRuntime.ReplaySchedule("lab2:x:1.2", SeededBugs.TwoStage(false)));
        var r = LabRuntime.ReplaySchedule("lab2:1:zz.zz.zz", SeededBugs.TwoStage(false));
        Assert.Contains(r.OracleFailures, o => o.Oracle == LabOracles.Determinism && o.Message.Contains("diverged"));
    }

    /// <summary>A plain field shared by two tasks: each writes its id, yields, and requires to read it back.</summary>
    private static Func<Cx, Task> PlainFieldRace() => async cx =>
    {
        int x = 0;
        async Task Body(Cx cx, int me)
        {
            await cx.YieldAsync();
            x = me;
            await cx.YieldAsync();
            if (x != me) throw new InvalidOperationException($"task {me} read back {x}");
        }
        var a = cx.Spawn("a", cx => Body(cx, 1));
        var b = cx.Spawn("b", cx => Body(cx, 2));
        await a.JoinAsync(cx);
        await b.JoinAsync(cx);
    };

    [Fact]
    public void Dpor_UndeclaredSharedState_IsSoundByDefault_DeclaredModePrunesAndSaysSo()
    {
        // The default treats user-code steps as dependent: every interleaving of the plain-field accesses is a class.
        var sound = LabRuntime.Explore(PlainFieldRace(), new ExploreOptions { Strategy = ExploreStrategy.Dpor, MaxSchedules = 5_000, StopOnFirstFailure = false, Lab = Sound });
        Assert.Equal(SharedState.Undeclared, sound.SharedState);
        Assert.True(sound.Exhausted, sound.Describe());
        Assert.NotEmpty(sound.Failures);
        Assert.Contains("shared state undeclared", sound.Describe());

        // Declared (but nothing declared): the tasks look independent, so DPOR explores far fewer classes — the
        // reduction a tester buys by declaring every shared variable, and the hole if one is left undeclared.
        var declared = LabRuntime.Explore(PlainFieldRace(), new ExploreOptions
        {
            Strategy = ExploreStrategy.Dpor,
            MaxSchedules = 5_000,
            StopOnFirstFailure = false,
            Lab = LabOptions.Default with { SharedState = SharedState.Declared },
        });
        Assert.Equal(SharedState.Declared, declared.SharedState);
        Assert.Contains("shared state declared", declared.Describe());
        Assert.True(declared.DistinctClasses < sound.DistinctClasses, declared.Describe() + " / " + sound.Describe());
    }

    [Fact]
    public void Dpor_Undeclared_ExploresAFinalizersPlainWrite_AgainstAnotherTasksRead()
    {
        // A Defer finalizer runs user code in an internal task: under the sound mode its steps are dependent with
        // user steps like any other. x is 1 only between the two finalizers (each its own internal task, LIFO), so
        // the reader sees 1 only if the Lab orders its read against the finalizers' steps themselves.
        Func<Cx, Task> program = async cx =>
        {
            int x = 0, seen = -1;
            var reader = cx.Spawn("reader", async cx =>
            {
                await cx.YieldAsync();
                seen = x;
            });
            await cx.RegionAsync("r", cx =>
            {
                cx.Defer(() => x = 0, "resets x");
                cx.Defer(() => x = 1, "sets x");
                return Task.CompletedTask;
            });
            await reader.JoinAsync(cx);
            if (seen == 1) throw new InvalidOperationException("the reader saw the finalizer's write");
        };
        var r = LabRuntime.Explore(program, new ExploreOptions { Strategy = ExploreStrategy.Dpor, MaxSchedules = 5_000, StopOnFirstFailure = false, Lab = Sound });
        Assert.True(r.Exhausted, r.Describe());
        Assert.True(r.Failures.Count > 0 && r.Failures.Count < r.Schedules, r.Describe());
    }

    [Fact]
    public void Dpor_Undeclared_ExhaustsTheFixedTwoStage_AndEveryClassMatchesBruteForce()
    {
        var dpor = LabRuntime.Explore(SeededBugs.TwoStage(true), new ExploreOptions { Strategy = ExploreStrategy.Dpor, MaxSchedules = 5_000, StopOnFirstFailure = false, Lab = Sound });
        var brute = LabRuntime.Explore(SeededBugs.TwoStage(true), new ExploreOptions { Strategy = ExploreStrategy.Exhaustive, MaxSchedules = 50_000, StopOnFirstFailure = false, Lab = Sound });
        Assert.True(dpor.Exhausted && brute.Exhausted, dpor.Describe() + " / " + brute.Describe());
        Assert.Empty(dpor.Failures);
        Assert.Equal(brute.ClassFingerprints.OrderBy(x => x), dpor.ClassFingerprints.OrderBy(x => x));
    }

    [Fact]
    public void Pct_Depth2_FindsAOnePreemptionBug_WithinTensOfSchedules()
    {
        // twostage needs exactly one preemption: the writer must stop right after its first critical section.
        var found = new List<int>();
        foreach (ulong seed in new ulong[] { 1, 1_000_003, 2_000_029, 3_000_017, 4_000_037 })
        {
            var r = LabRuntime.Explore(SeededBugs.TwoStage(false), new ExploreOptions { Strategy = ExploreStrategy.Pct, PctDepth = 2, MaxSchedules = 500, Seed = seed });
            Assert.NotNull(r.FirstFailure);
            found.Add(r.FirstFailureSchedule);
        }
        found.Sort();
        Assert.True(found[2] <= 60, "median " + found[2] + ": " + string.Join(",", found));
    }

    [Fact]
    public void Portfolio_OnlyItsDporMemberClaimsExhaustion()
    {
        var clean = LabRuntime.Explore(SeededBugs.LostUpdate(true), new ExploreOptions { Strategy = ExploreStrategy.Portfolio, MaxSchedules = 5_000, Lab = Sound });
        Assert.True(clean.Exhausted, clean.Describe());
        Assert.Null(clean.FirstFailure);
        // A budget too small for the DPOR member to finish: random and PCT runs never make it "exhausted".
        var cut = LabRuntime.Explore(SeededBugs.Philosophers(3, true), new ExploreOptions { Strategy = ExploreStrategy.Portfolio, MaxSchedules = 8, Lab = Sound });
        Assert.False(cut.Exhausted, cut.Describe());
    }
}

/// <summary>The Lab benchmark's programs under the portfolio, sound mode (bounded: at most 10,000 schedules each).</summary>
public class SeededBugTests
{
    public static TheoryData<string> Names() => new(SeededBugs.All.Select(b => b.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Portfolio_FindsEverySeededBug(string name)
    {
        var bug = SeededBugs.All.Single(b => b.Name == name);
        foreach (ulong seed in new ulong[] { 1, 2_000_029 })
        {
            var r = LabRuntime.Explore(bug.Buggy, new ExploreOptions { Strategy = ExploreStrategy.Portfolio, MaxSchedules = 10_000, Seed = seed, Lab = VerdictTests.Sound });
            Assert.True(r.FirstFailure is not null, $"{name}, seed {seed}: {r.Describe()}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Portfolio_GivesNoFalsePositive_OnTheFixedVariants(string name)
    {
        var bug = SeededBugs.All.Single(b => b.Name == name);
        var r = LabRuntime.Explore(bug.Fixed, new ExploreOptions { Strategy = ExploreStrategy.Portfolio, MaxSchedules = 1_000, Seed = 1, Lab = VerdictTests.Sound });
        Assert.True(r.FirstFailure is null, $"{name}: {r.Describe()}");
    }
}
