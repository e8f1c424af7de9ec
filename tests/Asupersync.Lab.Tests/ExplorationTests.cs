using Asupersync.Lab;
using Asupersync.Lab.Exploration;

namespace Asupersync.Lab.Tests;

public class ExplorationTests
{
    private static ExploreResult Explore(Func<Cx, Task> program, ExploreStrategy strategy, int maxSchedules = 40_000, bool stopOnFailure = false) =>
        LabRuntime.Explore(program, new ExploreOptions { Strategy = strategy, MaxSchedules = maxSchedules, StopOnFirstFailure = stopOnFailure, MaxWallTime = TimeSpan.FromMinutes(2), Lab = Declared });

    // These programs declare their shared state (LabVar): the tests measure the reduction that buys.
    private static readonly LabOptions Declared = LabOptions.Default with { SharedState = SharedState.Declared };

    /// <summary>Three tasks over two shared variables with different access patterns.</summary>
    private static Func<Cx, Task> ThreeTasksTwoVars() => async cx =>
    {
        var x = new LabVar<int>("x");
        var y = new LabVar<int>("y");
        var a = cx.Spawn("a", async cx => { x.Write(cx, 1); await cx.YieldAsync(); y.Write(cx, 1); });
        var b = cx.Spawn("b", async cx => { _ = x.Read(cx); await cx.YieldAsync(); });
        var c = cx.Spawn("c", cx => { _ = y.Read(cx); return Task.CompletedTask; });
        await a.JoinAsync(cx);
        await b.JoinAsync(cx);
        await c.JoinAsync(cx);
    };

    /// <summary>Tasks that sleep on the virtual clock and touch a variable after waking.</summary>
    private static Func<Cx, Task> SleepersAndVar() => async cx =>
    {
        var v = new LabVar<int>("v");
        var a = cx.Spawn("a", async cx => { await cx.SleepAsync(TimeSpan.FromMilliseconds(5)); v.Write(cx, 1); });
        var b = cx.Spawn("b", async cx => { await cx.SleepAsync(TimeSpan.FromMilliseconds(5)); v.Write(cx, 2); });
        var c = cx.Spawn("c", async cx => { await cx.YieldAsync(); _ = v.Read(cx); });
        await a.JoinAsync(cx);
        await b.JoinAsync(cx);
        await c.JoinAsync(cx);
    };

    public static TheoryData<string> SmallPrograms => ["lost-update", "lost-update-fixed", "workers-2x2", "three-tasks-two-vars", "sleepers", "leak-one-interleaving", "cancel-between"];

    private static Func<Cx, Task> ProgramNamed(string name) => name switch
    {
        "lost-update" => Programs.LostUpdate(false),
        "lost-update-fixed" => Programs.LostUpdate(true),
        "workers-2x2" => Programs.Workers(2, 2),
        "three-tasks-two-vars" => ThreeTasksTwoVars(),
        "sleepers" => SleepersAndVar(),
        "leak-one-interleaving" => Programs.LeakOnOneInterleaving(false),
        "cancel-between" => Programs.CancelBetweenReserveAndCommit(false),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(SmallPrograms))]
    public void Dpor_VisitsEachMazurkiewiczClassExactlyOnce(string name)
    {
        var program = ProgramNamed(name);
        var brute = Explore(program, ExploreStrategy.Exhaustive);
        Assert.True(brute.Exhausted, brute.Describe());
        var dpor = Explore(program, ExploreStrategy.Dpor);
        Assert.True(dpor.Exhausted, dpor.Describe());

        // Same set of classes as brute force, each class reached by exactly one complete schedule.
        Assert.Equal(brute.ClassFingerprints.OrderBy(x => x), dpor.ClassFingerprints.OrderBy(x => x));
        Assert.Equal(0, dpor.RedundantSchedules);
        Assert.Equal(dpor.DistinctClasses, dpor.Schedules);
        Assert.True(dpor.Schedules <= brute.Schedules);
    }

    [Fact]
    public void Dpor_NeedsAHandfulOfSchedules_ForLostUpdate_WhereDfsNeedsHundreds()
    {
        // Each task first does two yields of private work, then read – yield – write on the shared counter.
        Func<Cx, Task> program = async cx =>
        {
            var counter = new LabVar<int>("counter");
            async Task Inc(Cx cx)
            {
                for (int i = 0; i < 2; i++) await cx.YieldAsync();
                int v = counter.Read(cx);
                await cx.YieldAsync();
                counter.Write(cx, v + 1);
            }
            var a = cx.Spawn("a", Inc);
            var b = cx.Spawn("b", Inc);
            await a.JoinAsync(cx);
            await b.JoinAsync(cx);
        };
        var brute = Explore(program, ExploreStrategy.Exhaustive);
        var dpor = Explore(program, ExploreStrategy.Dpor);
        Assert.True(brute.Exhausted && dpor.Exhausted);
        Assert.Equal(brute.DistinctClasses, dpor.DistinctClasses);
        // The lost-update orders times where each join lands (before or after the joined task's completion step,
        // which is its own step since the completion choice point).
        Assert.True(dpor.Schedules <= 40, dpor.Describe());
        Assert.True(brute.Schedules >= 20 * dpor.Schedules, $"DPOR {dpor.Schedules} vs DFS {brute.Schedules}");
    }

    [Fact]
    public void Dpor_OnIndependentWorkers_ExploresFewClasses()
    {
        // Workers touching only their own task objects commute; only region bookkeeping orders their ends.
        var dpor = Explore(Programs.Workers(3, 3), ExploreStrategy.Dpor);
        var random = Explore(Programs.Workers(3, 3), ExploreStrategy.Random, maxSchedules: 200);
        Assert.True(dpor.Exhausted);
        Assert.True(dpor.DistinctClasses >= random.DistinctClasses, $"{dpor.DistinctClasses} < {random.DistinctClasses}");
        Assert.True(random.ClassFingerprints.IsSubsetOf(dpor.ClassFingerprints));
    }

    public static TheoryData<string, ExploreStrategy, string> SeededBugs => new()
    {
        { "lost-update", ExploreStrategy.Random, "Panicked" },
        { "lost-update", ExploreStrategy.Pct, "Panicked" },
        { "lost-update", ExploreStrategy.Dpor, "Panicked" },
        { "leak-one-interleaving", ExploreStrategy.Random, LabOracles.ObligationLeak },
        { "leak-one-interleaving", ExploreStrategy.Pct, LabOracles.ObligationLeak },
        { "leak-one-interleaving", ExploreStrategy.Dpor, LabOracles.ObligationLeak },
        { "cancel-between", ExploreStrategy.Random, "Panicked" },
        { "cancel-between", ExploreStrategy.Pct, "Panicked" },
        { "cancel-between", ExploreStrategy.Dpor, "Panicked" },
    };

    [Theory]
    [MemberData(nameof(SeededBugs))]
    public void SeededBug_IsFound_AndReplaysFromItsTrace_AndFixedVariantIsClean(string bug, ExploreStrategy strategy, string expected)
    {
        var (buggy, fixedProgram) = bug switch
        {
            "lost-update" => (Programs.LostUpdate(false), Programs.LostUpdate(true)),
            "leak-one-interleaving" => (Programs.LeakOnOneInterleaving(false), Programs.LeakOnOneInterleaving(true)),
            _ => (Programs.CancelBetweenReserveAndCommit(false), Programs.CancelBetweenReserveAndCommit(true)),
        };
        var found = LabRuntime.Explore(buggy, new ExploreOptions { Strategy = strategy, MaxSchedules = 500, Seed = 1 });
        var failure = found.FirstFailure;
        Assert.True(failure is not null, found.Describe());
        Assert.True(Matches(failure!, expected), failure!.Describe());

        // Every failure found is replayed from its saved trace and fails the same way.
        var path = failure.SaveTrace(Path.Combine(Path.GetTempPath(), "asupersync-lab-tests"));
        var replay = LabRuntime.Replay(path, buggy);
        Assert.DoesNotContain(replay.OracleFailures, f => f.Oracle == LabOracles.Determinism);
        Assert.True(Matches(replay, expected), replay.Describe());
        Assert.Equal(failure.Trace.Decisions, replay.Trace.Decisions);

        var clean = LabRuntime.Explore(fixedProgram, new ExploreOptions { Strategy = strategy, MaxSchedules = strategy == ExploreStrategy.Dpor ? 10_000 : 300, Seed = 1 });
        Assert.True(clean.FirstFailure is null, clean.Describe());
        if (strategy == ExploreStrategy.Dpor) Assert.True(clean.Exhausted);
    }

    private static bool Matches(LabRunResult r, string expected) =>
        expected == "Panicked" ? r.Outcome is { IsPanicked: true } : r.OracleFailures.Any(f => f.Oracle == expected);

    [Fact]
    public void Pct_FindsDeepOrderingBug_AmongTenTasks()
    {
        // Bug needs one specific task to run its second step before all others finish their first: depth 2.
        Func<Cx, Task> program = async cx =>
        {
            var flag = new LabVar<int>("flag");
            var hs = new List<TaskHandle<Unit>>();
            for (int i = 0; i < 9; i++) hs.Add(cx.Spawn($"t{i}", async cx => { await cx.YieldAsync(); flag.Write(cx, flag.Read(cx) + 1); }));
            hs.Add(cx.Spawn("checker", async cx =>
            {
                await cx.YieldAsync();
                if (flag.Read(cx) == 0) throw new InvalidOperationException("checker ran before every worker");
            }));
            foreach (var h in hs) await h.JoinAsync(cx);
        };
        var pct = LabRuntime.Explore(program, new ExploreOptions { Strategy = ExploreStrategy.Pct, PctDepth = 2, MaxSchedules = 200, Seed = 3 });
        Assert.NotNull(pct.FirstFailure);
        Assert.True(pct.Schedules <= 100, $"PCT needed {pct.Schedules} schedules");
    }

    [Fact]
    public void Exploration_Bounds_AreHonoured()
    {
        var r = Explore(Programs.Workers(3, 4), ExploreStrategy.Exhaustive, maxSchedules: 25);
        Assert.Equal(25, r.Schedules);
        Assert.False(r.Exhausted);
        Assert.Equal("schedule bound", r.StopReason);
    }

    [Fact]
    public void NonDeterministicProgram_IsReportedByExploration()
    {
        int runs = 0;
        Func<Cx, Task> program = async cx =>
        {
            int n = ++runs % 2 == 0 ? 3 : 2; // a different shape on every other run
            var hs = new List<TaskHandle<Unit>>();
            for (int i = 0; i < n; i++) hs.Add(cx.Spawn($"t{i}", async cx => await cx.YieldAsync()));
            foreach (var h in hs) await h.JoinAsync(cx);
        };
        var r = Explore(program, ExploreStrategy.Dpor, stopOnFailure: true);
        Assert.Contains(r.Failures, f => f.OracleFailures.Any(o => o.Oracle == LabOracles.Determinism));
    }
}

public class ExplorationBoundTests
{
    [Fact]
    public void PreemptionBound_LimitsExhaustiveSearch_AndZeroPreemptionsMissesLostUpdate()
    {
        var unbounded = LabRuntime.Explore(Programs.Workers(2, 2), new ExploreOptions { Strategy = ExploreStrategy.Exhaustive, StopOnFirstFailure = false });
        var bounded = LabRuntime.Explore(Programs.Workers(2, 2), new ExploreOptions { Strategy = ExploreStrategy.Exhaustive, MaxPreemptions = 1, StopOnFirstFailure = false });
        Assert.True(unbounded.Exhausted && bounded.Exhausted, unbounded.Describe() + " / " + bounded.Describe());
        Assert.True(bounded.Schedules < unbounded.Schedules / 4, $"{bounded.Schedules} vs {unbounded.Schedules}");

        // The lost update needs a preemption between read and write: none allowed, none found; one allowed, found.
        var none = LabRuntime.Explore(Programs.LostUpdate(false), new ExploreOptions { Strategy = ExploreStrategy.Exhaustive, MaxPreemptions = 0 });
        Assert.Null(none.FirstFailure);
        var one = LabRuntime.Explore(Programs.LostUpdate(false), new ExploreOptions { Strategy = ExploreStrategy.Exhaustive, MaxPreemptions = 1 });
        Assert.NotNull(one.FirstFailure);
    }

    [Fact]
    public void Dpor_RejectsPreemptionBound() =>
        Assert.Throws<ArgumentException>(() => LabRuntime.Explore(Programs.Workers(2, 2), new ExploreOptions { Strategy = ExploreStrategy.Dpor, MaxPreemptions = 1 }));
}

public class DeterminismSelfCheckTests
{
    private static int s_counter;

    [Fact]
    public void CheckDeterminism_Silent_OnDeterministicProgram() =>
        Assert.True(LabRuntime.CheckDeterminism(4, Programs.Workers(3, 3)).Passed);

    [Fact]
    public void CheckDeterminism_Fires_OnProgramUsingOutsideState()
    {
        Func<Cx, Task> program = async cx =>
        {
            int extra = Interlocked.Increment(ref s_counter) % 2;   // differs between the two runs
            var t = cx.Spawn("t", async cx => { for (int i = 0; i <= extra; i++) await cx.YieldAsync(); });
            await t.JoinAsync(cx);
        };
        var r = LabRuntime.CheckDeterminism(4, program);
        Assert.Contains(r.OracleFailures, f => f.Oracle == LabOracles.Determinism && f.Message.Contains("two different traces"));
        var ex = Assert.Throws<LabFailureException>(() => LabTest.ForSeeds(3, program));
        Assert.Contains("not deterministic", ex.Message);
    }
}
