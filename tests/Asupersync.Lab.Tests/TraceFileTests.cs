using Asupersync.Lab;

namespace Asupersync.Lab.Tests;

public class TraceFileTests
{
    private static string TempFile() => Path.Combine(Path.GetTempPath(), "asupersync-lab-tests", $"trace-{Guid.NewGuid():N}.json");

    [Fact]
    public void Trace_RoundTripsThroughJson_AndReplaysIdentically()
    {
        var program = Programs.Workers(3, 3);
        var run = LabRuntime.Run(21, program);
        var path = TempFile();
        run.Trace.Save(path);

        var loaded = LabTrace.Load(path);
        Assert.True(run.Trace.SameAs(loaded));
        Assert.Equal(run.Trace.Hash, loaded.Hash);
        Assert.Equal(run.Trace.Seed, loaded.Seed);
        Assert.Equal("w1", loaded.Names.Values.Single(n => n == "w1"));

        var replay = LabRuntime.Replay(path, program);
        Assert.True(replay.Passed, replay.Describe());
        Assert.True(replay.Trace.SameAs(run.Trace));
    }

    [Fact]
    public void TamperedTrace_FailsIntegrityCheck()
    {
        var path = TempFile();
        LabRuntime.Run(2, Programs.Workers(2, 2)).Trace.Save(path);
        var json = File.ReadAllText(path);
        int at = json.IndexOf("\"decisions\":[", StringComparison.Ordinal) + "\"decisions\":[".Length;
        var tampered = json[..at] + (json[at] == '2' ? '3' : '2') + json[(at + 1)..];
        var ex = Assert.Throws<InvalidDataException>(() => LabTrace.FromJson(tampered));
        Assert.Contains("integrity", ex.Message);
    }

    [Fact]
    public void UnknownVersion_IsRejected()
    {
        var json = LabRuntime.Run(2, Programs.Workers(1, 1)).Trace.ToJson().Replace("\"version\":1", "\"version\":99", StringComparison.Ordinal);
        var ex = Assert.Throws<InvalidDataException>(() => LabTrace.FromJson(json));
        Assert.Contains("version 99", ex.Message);
    }

    [Fact]
    public void Replay_OfADifferentProgram_IsReportedAsDivergence()
    {
        var run = LabRuntime.Run(5, Programs.Workers(3, 3));
        var replay = LabRuntime.Replay(run.Trace, Programs.Workers(3, 4));
        var f = Assert.Single(replay.OracleFailures, f => f.Oracle == LabOracles.Determinism);
        Assert.Contains("diverged", f.Message);
    }

    [Fact]
    public void Failure_SavesTraceToConfiguredDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "asupersync-lab-tests", Guid.NewGuid().ToString("N"));
        var r = LabRuntime.Run(1, async cx =>
        {
            var t = cx.Spawn("leaky", async cx => { cx.Reserve(ObligationKind.Lease, "lease"); await cx.YieldAsync(); });
            await t.JoinAsync(cx);
        }, new LabOptions { TraceDirectory = dir, ProgramName = "leaky-program" });
        Assert.False(r.Passed);
        Assert.NotNull(r.TracePath);
        Assert.StartsWith(dir, r.TracePath);
        Assert.Contains("leaky-program", Path.GetFileName(r.TracePath));
        Assert.Contains(r.TracePath!, r.Describe());
    }
}
