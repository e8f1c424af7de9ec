using System.Diagnostics;
using Asupersync.Lab.Campaigns;

namespace Asupersync.Lab.Tests.Campaigns;

/// <summary>Programs the CLI loads by name in the process tests.</summary>
public static class CampaignPrograms
{
    /// <summary>Fails its own check in about 10 % of runs (seeded entropy).</summary>
    /// <param name="cx">The root's context.</param>
    /// <returns>The root body.</returns>
    public static Task Flaky10(Cx cx) => CampaignTests.Flaky(0.1)(cx);
}

/// <summary>Shards as separate processes: n local CLI processes, each given its shard, then <c>asupersync merge</c>.</summary>
public sealed class CampaignProcessTests
{
    private const string Program = "Asupersync.Lab.Tests.Campaigns.CampaignPrograms.Flaky10";

    private static ProcessStartInfo Cli(params string[] args)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // The tool's assembly, whichever name the CLI project gives it.
        var tool = new[] { "asupersync.dll", "Asupersync.Cli.dll" }.Select(n => Path.Combine(AppContext.BaseDirectory, n)).First(File.Exists);
        psi.ArgumentList.Add(tool);
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The child must not inherit a shard from the environment the tests run in.
        foreach (var v in new[] { CampaignShard.ShardVariable, CampaignShard.IndexVariable, CampaignShard.CountVariable, CampaignShard.KubernetesIndexVariable }) psi.Environment.Remove(v);
        return psi;
    }

    private static async Task<(int Code, string Output)> RunAsync(ProcessStartInfo psi)
    {
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }
        return (p.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task TwoProcessesAsShards_MergeToTheSingleProcessResult()
    {
        var dir = Path.Combine(Path.GetTempPath(), "asupersync-campaign-tests", Guid.NewGuid().ToString("n"));
        var asm = typeof(CampaignPrograms).Assembly.Location;
        string[] common = ["campaign", "-a", asm, "-p", Program, "--rate", "Run=0.3", "--max-runs", "400", "--seed", "3", "-q"];
        // Shard 0 by option, shard 1 the way a Kubernetes Indexed Job names it.
        var first = Cli([.. common, "--shard", "0/2", "--out", Path.Combine(dir, "shard-0.json")]);
        var second = Cli([.. common, "--out", Path.Combine(dir, "shard-1.json")]);
        second.Environment[CampaignShard.KubernetesIndexVariable] = "1";
        second.Environment[CampaignShard.CountVariable] = "2";
        var runs = await Task.WhenAll(RunAsync(first), RunAsync(second));
        Assert.True(runs.All(r => r.Code == 0), string.Join(Environment.NewLine, runs.Select(r => $"exit {r.Code}: {r.Output}")));
        Assert.Contains("shard 1/2", runs[1].Output, StringComparison.Ordinal);

        var merge = await RunAsync(Cli("merge", dir, "--out", Path.Combine(dir, "merged", "merged.json")));
        Assert.True(merge.Code == 0, merge.Output);
        var merged = CampaignResult.Load(Path.Combine(dir, "merged", "merged.json"));

        var single = LabCampaign.Run(CampaignPrograms.Flaky10, new CampaignOptions
        {
            Properties = [.. CampaignProperty.Defaults.SkipLast(1), CampaignProperty.OtherFailures(nullRate: 0.3)],
            MaxRuns = 400,
            FirstSeed = 3,
            Lab = new LabOptions { ProgramName = Program },
        });
        Assert.Equal(single.Runs, merged.Runs);
        Assert.Equal(single.StopRule, merged.StopRule);
        Assert.Equal(single.Properties.Select(p => (p.Name, p.Violations, p.FirstViolationRun, p.LogEValue, p.UpperBound)),
                     merged.Properties.Select(p => (p.Name, p.Violations, p.FirstViolationRun, p.LogEValue, p.UpperBound)));
    }

    [Fact]
    public async Task BadInput_GivesAOneLineErrorAndItsExitCode()
    {
        var missing = await RunAsync(Cli("merge", "/nonexistent/shard.json"));
        Assert.Equal(4, missing.Code); // a missing file
        Assert.Single(missing.Output.Trim().Split('\n'));
        Assert.StartsWith("error: ", missing.Output, StringComparison.Ordinal);
        var shard = await RunAsync(Cli("campaign", "-a", typeof(CampaignPrograms).Assembly.Location, "-p", Program, "--shard", "2/2"));
        Assert.Equal(2, shard.Code);
        Assert.Contains("not a shard", shard.Output, StringComparison.Ordinal);
        var rate = await RunAsync(Cli("campaign", "-a", typeof(CampaignPrograms).Assembly.Location, "-p", Program, "--rate", "Run"));
        Assert.Equal(2, rate.Code);
        Assert.Contains("NAME=P0", rate.Output, StringComparison.Ordinal);
    }
}
