using System.Text.Json;
using Asupersync.Cli;
using Asupersync.Lab.Campaigns;

namespace Asupersync.Lab.Tests.Cli;

/// <summary>Programs the CLI tests load by name.</summary>
public static class CliPrograms
{
    /// <summary>Passes on every schedule.</summary>
    /// <param name="cx">The root's context.</param>
    /// <returns>The root body.</returns>
    public static async Task Passes(Cx cx)
    {
        var a = cx.Spawn("a", async c => await c.YieldAsync());
        var b = cx.Spawn("b", async c => await c.YieldAsync());
        await a.JoinAsync(cx);
        await b.JoinAsync(cx);
    }

    /// <summary>A lost update: two tasks read, yield, write; fails when they interleave.</summary>
    /// <param name="cx">The root's context.</param>
    /// <returns>The root body.</returns>
    public static async Task LostUpdate(Cx cx)
    {
        var counter = new LabVar<int>("counter");
        async Task Add(Cx c)
        {
            int v = counter.Read(c);
            await c.YieldAsync();
            counter.Write(c, v + 1);
        }
        var a = cx.Spawn("a", Add);
        var b = cx.Spawn("b", Add);
        await a.JoinAsync(cx);
        await b.JoinAsync(cx);
        if (counter.Value != 2) throw new InvalidOperationException($"lost update: counter {counter.Value}");
    }

    /// <summary>Not a program: the wrong return type.</summary>
    /// <param name="cx">The root's context.</param>
    /// <returns>Nothing useful.</returns>
    public static int NotAProgram(Cx cx) => cx is null ? 0 : 1;
}

/// <summary>
/// The CLI in process (<see cref="Asupersync.Cli.Cli.Run"/> with captured writers): one <c>error:</c> line and a
/// distinct exit code per kind of bad input, <c>--json</c>, <c>--out</c>, progress, explore shards and their merge.
/// </summary>
public sealed class CliTests
{
    private static readonly string TestAssembly = typeof(CliPrograms).Assembly.Location;
    private const string Programs = "Asupersync.Lab.Tests.Cli.CliPrograms";

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        // No shard from the environment the tests run in.
        int code = new Asupersync.Cli.Cli(o, e, terminal: false, static _ => null).Run(args);
        return (code, o.ToString(), e.ToString());
    }

    private static string TempDir() => Path.Combine(Path.GetTempPath(), "asupersync-cli-tests", Guid.NewGuid().ToString("n"));

    private static void AssertOneErrorLine((int Code, string Out, string Err) r, int code, string contains)
    {
        Assert.True(r.Code == code, $"exit {r.Code} (expected {code}): {r.Err}");
        var lines = r.Err.Trim().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(contains, lines[0], StringComparison.Ordinal);
        Assert.Equal("", r.Out);
    }

    [Fact]
    public void BadInput_IsOneErrorLine_WithADistinctExitCodePerKind()
    {
        var dir = TempDir();
        Directory.CreateDirectory(dir);
        var notATrace = Path.Combine(dir, "not-a-trace.json");
        File.WriteAllText(notATrace, "this is not json");
        var wrongJson = Path.Combine(dir, "wrong.json");
        File.WriteAllText(wrongJson, "{\"format\":\"something-else\"}");
        var notAnAssembly = Path.Combine(dir, "fake.dll");
        File.WriteAllText(notAnAssembly, "MZ nope");

        AssertOneErrorLine(Run("show", Path.Combine(dir, "missing.json")), ExitCodes.MissingFile, "no such trace file");
        AssertOneErrorLine(Run("run", "-a", Path.Combine(dir, "missing.dll"), "-p", "A.B.C"), ExitCodes.MissingFile, "no such assembly");
        AssertOneErrorLine(Run("merge", Path.Combine(dir, "missing-shard.json")), ExitCodes.MissingFile, "no such file");
        AssertOneErrorLine(Run("show", notATrace), ExitCodes.BadFile, "not a Lab trace");
        AssertOneErrorLine(Run("render", wrongJson), ExitCodes.BadFile, "not a valid Lab trace");
        AssertOneErrorLine(Run("merge", wrongJson), ExitCodes.BadFile, "is not an asupersync-explore or asupersync-campaign result file");
        AssertOneErrorLine(Run("run", "-a", TestAssembly, "-p", Programs + ".Nope"), ExitCodes.UnknownProgram, "programs it has: ");
        AssertOneErrorLine(Run("run", "-a", TestAssembly, "-p", "No.Such.Type"), ExitCodes.UnknownProgram, "has no type No.Such");
        AssertOneErrorLine(Run("run", "-a", TestAssembly, "-p", Programs + ".NotAProgram"), ExitCodes.UnknownProgram, "not Task");
        AssertOneErrorLine(Run("run", "-a", notAnAssembly, "-p", "A.B.C"), ExitCodes.UnknownProgram, "not a .NET assembly");
        AssertOneErrorLine(Run("explore", "-a", TestAssembly, "-p", Programs + ".Passes", "--max-schedules", "many"), ExitCodes.BadOptions, "--max-schedules");
        AssertOneErrorLine(Run("explore", "-a", TestAssembly), ExitCodes.BadOptions, "--program");
        AssertOneErrorLine(Run("explore", "-a", TestAssembly, "-p", Programs + ".Passes", "--frobnicate"), ExitCodes.BadOptions, "--frobnicate");
        AssertOneErrorLine(Run("explore", "-a", TestAssembly, "-p", Programs + ".Passes", "--shard", "3/2"), ExitCodes.BadOptions, "shard");
        AssertOneErrorLine(Run("run", "-a", TestAssembly, "-p", Programs + ".Passes", "--chaos", "tornado"), ExitCodes.BadOptions, "chaos preset");
        AssertOneErrorLine(Run("run", "-a", TestAssembly, "-p", "NoDot"), ExitCodes.BadOptions, "Namespace.Type.Method");
        AssertOneErrorLine(Run("campaign", "-a", TestAssembly, "-p", Programs + ".Passes", "--rate", "Run"), ExitCodes.BadOptions, "NAME=P0");
        AssertOneErrorLine(Run("frobnicate"), ExitCodes.BadOptions, "frobnicate");
    }

    [Fact]
    public void Help_StillWorks_AndNamesTheToolAsupersync()
    {
        var r = Run("explore", "--help");
        Assert.Equal(0, r.Code);
        Assert.Contains("asupersync explore [options]", r.Out, StringComparison.Ordinal);
        Assert.Contains("--shard", r.Out, StringComparison.Ordinal);
        Assert.Contains("--json", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_FailingProgram_SavesItsTraceOutsideTheRepo_AndPrintsReplayHintsThatWork()
    {
        // Seeds until one interleaves the two tasks (a lost update); bounded.
        (int Code, string Out, string Err) failing = (0, "", "");
        for (ulong seed = 0; seed < 64 && failing.Code != ExitCodes.Failed; seed++)
            failing = Run("run", "-a", TestAssembly, "-p", Programs + ".LostUpdate", "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(ExitCodes.Failed, failing.Code);
        var lines = failing.Out.Split('\n');
        var trace = lines.Single(l => l.StartsWith("  trace:  ", StringComparison.Ordinal))["  trace:  ".Length..].Trim();
        Assert.StartsWith(Path.GetTempPath(), trace, StringComparison.Ordinal);
        Assert.True(File.Exists(trace));
        Assert.DoesNotContain("dotnet test", failing.Out, StringComparison.Ordinal);

        // The printed hints, run as printed: the replay matches, the schedule handle reproduces the failure.
        var replay = lines.Single(l => l.StartsWith("  replay: asupersync ", StringComparison.Ordinal))["  replay: asupersync ".Length..].Trim();
        Assert.Equal(ExitCodes.Ok, Run(Args(replay)).Code);
        var handle = lines.Single(l => l.StartsWith("  or:     asupersync ", StringComparison.Ordinal))["  or:     asupersync ".Length..].Trim();
        var again = Run(Args(handle));
        Assert.Equal(ExitCodes.Failed, again.Code);
        Assert.Contains("lost update", again.Out, StringComparison.Ordinal);
    }

    /// <summary>Splits a printed command line the way a POSIX shell would for the quoting the CLI uses ('…').</summary>
    private static string[] Args(string line)
    {
        var args = new List<string>();
        var cur = new System.Text.StringBuilder();
        bool quoted = false, any = false;
        foreach (char ch in line)
        {
            if (ch == '\'') { quoted = !quoted; any = true; }
            else if (ch == ' ' && !quoted) { if (any) args.Add(cur.ToString()); cur.Clear(); any = false; }
            else { cur.Append(ch); any = true; }
        }
        if (any) args.Add(cur.ToString());
        return [.. args];
    }

    [Fact]
    public void Json_IsOneParseableObject_OnStandardOutput()
    {
        var dir = TempDir();
        var explore = Run("explore", "-a", TestAssembly, "-p", Programs + ".LostUpdate", "--json", "--out", Path.Combine(dir, "r.json"));
        Assert.Equal(ExitCodes.Failed, explore.Code);
        using (var doc = JsonDocument.Parse(explore.Out))
        {
            Assert.Equal("asupersync-explore", doc.RootElement.GetProperty("format").GetString());
            Assert.True(doc.RootElement.GetProperty("failed").GetBoolean());
            var f = doc.RootElement.GetProperty("failures")[0];
            Assert.StartsWith("lab2:", f.GetProperty("replayHandle").GetString(), StringComparison.Ordinal);
            Assert.StartsWith(dir, f.GetProperty("trace").GetString(), StringComparison.Ordinal);
        }
        var run = Run("run", "-a", TestAssembly, "-p", Programs + ".Passes", "--json", "--out", Path.Combine(dir, "pass.json"));
        Assert.Equal(ExitCodes.Ok, run.Code);
        using (var doc = JsonDocument.Parse(run.Out))
        {
            Assert.True(doc.RootElement.GetProperty("passed").GetBoolean());
            Assert.Equal(Path.Combine(dir, "pass.json"), doc.RootElement.GetProperty("trace").GetString());
        }
        var show = Run("show", Path.Combine(dir, "pass.json"), "--json");
        Assert.Equal(ExitCodes.Ok, show.Code);
        using (var doc = JsonDocument.Parse(show.Out)) Assert.Equal(0, doc.RootElement.GetProperty("failures").GetArrayLength());
    }

    [Fact]
    public void Progress_GoesToStandardError_AsLines_WhenNotATerminal_AndNotWithQuiet()
    {
        var dir = TempDir();
        var loud = Run("explore", "-a", TestAssembly, "-p", Programs + ".Passes", "--max-schedules", "50", "--out", Path.Combine(dir, "a.json"));
        Assert.Equal(ExitCodes.Ok, loud.Code);
        Assert.Contains("explore: done: ", loud.Err, StringComparison.Ordinal);
        Assert.Contains(" classes, 0 failures found", loud.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("done:", loud.Out, StringComparison.Ordinal);
        var quiet = Run("explore", "-a", TestAssembly, "-p", Programs + ".Passes", "--max-schedules", "50", "-q", "--out", Path.Combine(dir, "b.json"));
        Assert.Equal("", quiet.Err);
    }

    [Fact]
    public void Progress_OnATerminal_IsASpectreProgressBar()
    {
        var err = new StringWriter();
        int value = new ProgressDisplay(err, ProgressMode.Live).Run("explore", 10, update =>
        {
            update(5, "5 schedules, 10/s, 5 classes, 0 failures found", false);
            update(10, "10 schedules, 10/s, 9 classes, 0 failures found", true);
            return 42;
        });
        Assert.Equal(42, value);
        Assert.Contains("explore: 10 schedules", err.ToString(), StringComparison.Ordinal);
        Assert.Contains("100%", err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ExploreShards_MergeToTheShardsRunInOneProcess_AndAMissingShardIsRefused()
    {
        var dir = TempDir();
        string[] common = ["explore", "-a", TestAssembly, "-p", Programs + ".Passes", "--max-schedules", "301", "--seed", "7", "-q"];
        var first = Run([.. common, "--shard", "0/3", "--out", Path.Combine(dir, "s0.json")]);
        var second = Run([.. common, "--shard", "1/3", "--out", Path.Combine(dir, "s1.json")]);
        var third = Run([.. common, "--shard", "2/3", "--out", Path.Combine(dir, "s2.json")]);
        Assert.All(new[] { first, second, third }, r => Assert.True(r.Code == 0, r.Err));
        Assert.Contains("shard 1/3", second.Out, StringComparison.Ordinal);

        var partial = Run("merge", Path.Combine(dir, "s0.json"), Path.Combine(dir, "s2.json"));
        AssertOneErrorLine(partial, ExitCodes.BadOptions, "missing shard(s) 1/3");

        var merge = Run("merge", dir, "--out", Path.Combine(dir, "merged", "all.json"));
        Assert.True(merge.Code == 0, merge.Err);
        var merged = ExploreShardResult.FromJson(File.ReadAllText(Path.Combine(dir, "merged", "all.json")), "merged");

        // The same three shards in this process, one after the other.
        var plan = new ExplorePlan(Programs + ".Passes", Lab.Exploration.ExploreStrategy.Portfolio, 3, false, 7, 301, 3);
        var parts = Enumerable.Range(0, 3).Select(i => ExploreShardResult.Run(CliPrograms.Passes, plan, i, new LabOptions { ProgramName = plan.Program }, TimeSpan.FromMinutes(5)).Result).ToList();
        var single = ExploreShardResult.Merge(parts);
        Assert.Equal([0, 1, 2], merged.Shards);
        Assert.Equal(single.Schedules, merged.Schedules);
        Assert.Equal(single.PrunedSchedules, merged.PrunedSchedules);
        Assert.Equal(single.Classes.Order(), merged.Classes.Order());
        Assert.Equal(single.Exhausted, merged.Exhausted);
        Assert.Equal(single.StopReasons, merged.StopReasons);
        // Budgets 101 + 100 + 100 (or fewer, when a shard's DPOR member exhausts the classes first).
        Assert.True(merged.Schedules <= 301);
        Assert.Equal([101, 100, 100], Enumerable.Range(0, 3).Select(plan.Budget));
    }

    [Fact]
    public void ExploreShard_DefaultsFromTheEnvironment_LikeAKubernetesIndexedJob()
    {
        var dir = TempDir();
        var env = new Dictionary<string, string> { [CampaignShard.KubernetesIndexVariable] = "1", [CampaignShard.CountVariable] = "2" };
        var o = new StringWriter();
        var e = new StringWriter();
        int code = new Asupersync.Cli.Cli(o, e, terminal: false, name => env.GetValueOrDefault(name))
            .Run(["explore", "-a", TestAssembly, "-p", Programs + ".Passes", "--max-schedules", "20", "-q", "--out", Path.Combine(dir, "k.json")]);
        Assert.True(code == 0, e.ToString());
        var result = ExploreShardResult.FromJson(File.ReadAllText(Path.Combine(dir, "k.json")), "k");
        Assert.Equal([1], result.Shards);
        Assert.Equal(2, result.Plan.ShardCount);
    }

    [Fact]
    public void Demo_FindsTheHalfDoneTransferAfterManySchedules_ThenTheFixedTransferIsClean_AllInItsOutFolder()
    {
        var dir = TempDir();
        var r = Run("demo", "--out", dir, "--max-schedules", "1500", "--json", "-q");
        Assert.True(r.Code == 0, r.Out + r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("bugFound").GetBoolean());
        Assert.True(root.GetProperty("schedulesToFind").GetInt32() > 10, "the demo should need an exploration, not one lucky run");
        Assert.True(root.GetProperty("fixedClean").GetBoolean());
        Assert.Equal(1500, root.GetProperty("fixedSchedules").GetInt32());
        Assert.Equal(Path.Combine(dir, "demo-trace.html"), root.GetProperty("html").GetString());
        Assert.True(File.Exists(Path.Combine(dir, "demo-trace.html")));
        Assert.True(File.Exists(Path.Combine(dir, "demo-trace.json")));
    }
}
