using Asupersync.Lab.Campaigns;

namespace Asupersync.Lab.Tests.Campaigns;

/// <summary>Sharding: the partition of runs, result files, and merges identical to one process over the same seeds.</summary>
public sealed class ShardMergeTests
{
    private static readonly CampaignOptions Flaky = new()
    {
        Properties = [CampaignProperty.TaskLeak, CampaignProperty.OtherFailures(nullRate: 0.3)],
        MaxRuns = 600,
        FirstSeed = 7,
        Lab = new LabOptions { ProgramName = "flaky" },
    };

    private static void AssertSameFigures(CampaignResult expected, CampaignResult actual)
    {
        Assert.Equal(expected.Runs, actual.Runs);
        Assert.Equal(expected.StopRule, actual.StopRule);
        Assert.Equal(expected.FirstViolation?.Run, actual.FirstViolation?.Run);
        Assert.Equal(expected.FirstViolation?.Seed, actual.FirstViolation?.Seed);
        Assert.Equal(expected.Properties.Count, actual.Properties.Count);
        for (int j = 0; j < expected.Properties.Count; j++)
        {
            var (e, a) = (expected.Properties[j], actual.Properties[j]);
            Assert.Equal(e.Name, a.Name);
            Assert.Equal(e.Runs, a.Runs);
            Assert.Equal(e.Violations, a.Violations);
            Assert.Equal(e.FirstViolationRun, a.FirstViolationRun);
            Assert.Equal(e.FirstViolationSeed, a.FirstViolationSeed);
            Assert.Equal(e.LogEValue, a.LogEValue);
            Assert.Equal(e.UpperBound, a.UpperBound);
        }
    }

    [Fact]
    public void MergedShards_EqualOneProcessOverTheSameSeeds()
    {
        var program = CampaignTests.Flaky(0.1);
        var single = LabCampaign.Run(program, Flaky);
        Assert.Equal(CampaignStopRule.RunBudget, single.StopRule);
        Assert.True(single.Properties[1].Violations > 20);
        var shards = Enumerable.Range(0, 3).Select(i => LabCampaign.Run(program, Flaky with { Shard = new CampaignShard(i, 3) })).ToList();
        Assert.Equal([200L, 200L, 200L], shards.Select(s => s.Runs));
        // Through the files, in any order.
        var merged = CampaignResult.Merge(shards.AsEnumerable().Reverse().Select(s => CampaignResult.FromJson(s.ToJson())));
        AssertSameFigures(single, merged);
        Assert.Equal([0, 1, 2], merged.Shards);
        // A merged file merges again (alone) to itself.
        AssertSameFigures(single, CampaignResult.Merge([CampaignResult.FromJson(merged.ToJson())]));
    }

    [Fact]
    public void MergedShards_ReportTheSameFirstViolation()
    {
        var program = Programs.LostUpdate(fixedVariant: false);
        var o = new CampaignOptions { MaxRuns = 3000, Lab = new LabOptions { ProgramName = "lost-update" } };
        var single = LabCampaign.Run(program, o);
        Assert.Equal(CampaignStopRule.Violation, single.StopRule);
        var shards = Enumerable.Range(0, 2).Select(i => LabCampaign.Run(program, o with { Shard = new CampaignShard(i, 2) })).ToList();
        var merged = CampaignResult.Merge(shards);
        Assert.Equal(CampaignStopRule.Violation, merged.StopRule);
        Assert.Equal(single.FirstViolation!.Run, merged.FirstViolation!.Run);
        Assert.Equal(single.FirstViolation.Seed, merged.FirstViolation.Seed);
    }

    [Fact]
    public void ShardsPartitionTheRunIndices()
    {
        var indices = new List<long>[3];
        for (int i = 0; i < 3; i++)
        {
            var mine = indices[i] = [];
            var record = CampaignProperty.Predicate("Seeds", r =>
            {
                mine.Add((long)r.Seed);
                return false;
            });
            LabCampaign.Run(Programs.Workers(2, 1), new CampaignOptions { Properties = [record], MaxRuns = 10, Shard = new CampaignShard(i, 3), Strategy = CampaignStrategy.Random });
        }
        Assert.Equal([0L, 3, 6, 9], indices[0]);
        Assert.Equal([1L, 4, 7], indices[1]);
        Assert.Equal([2L, 5, 8], indices[2]);
    }

    [Fact]
    public void Merge_RejectsMissingDuplicateAndForeignShards()
    {
        var program = Programs.Workers(2, 1);
        var o = new CampaignOptions { MaxRuns = 20 };
        var s0 = LabCampaign.Run(program, o with { Shard = new CampaignShard(0, 2) });
        var s1 = LabCampaign.Run(program, o with { Shard = new CampaignShard(1, 2) });
        Assert.Contains("Missing shard 1/2", Assert.Throws<ArgumentException>(() => CampaignResult.Merge([s0])).Message, StringComparison.Ordinal);
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => CampaignResult.Merge([s0, s0, s1])).Message, StringComparison.Ordinal);
        var other = LabCampaign.Run(program, o with { Shard = new CampaignShard(1, 2), FirstSeed = 99 });
        Assert.Contains("different campaigns", Assert.Throws<ArgumentException>(() => CampaignResult.Merge([s0, other])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CampaignResult.Merge([]));
    }

    [Fact]
    public void ResultFile_RoundTrips_AndBadFilesAreRejectedClearly()
    {
        var r = LabCampaign.Run(CampaignTests.Flaky(0.2), Flaky with { MaxRuns = 100 });
        var path = Path.Combine(Path.GetTempPath(), "asupersync-campaign-tests", Guid.NewGuid().ToString("n"), "shard.json");
        r.Save(path);
        var back = CampaignResult.Load(path);
        AssertSameFigures(r, back);
        Assert.Equal(r.Plan.Properties, back.Plan.Properties);
        Assert.Contains("\"version\": 1", File.ReadAllText(path), StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => CampaignResult.FromJson("{}"));
        Assert.Throws<InvalidDataException>(() => CampaignResult.FromJson("not json"));
        var v2 = r.ToJson().Replace("\"version\": 1", "\"version\": 2", StringComparison.Ordinal);
        Assert.Contains("version 2", Assert.Throws<InvalidDataException>(() => CampaignResult.FromJson(v2)).Message, StringComparison.Ordinal);
        var bad = r.ToJson().Replace("\"runs\": 100", "\"runs\": 5", StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => CampaignResult.FromJson(bad));
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("3/4", 3, 4)]
    [InlineData(" 1 / 2 ", 1, 2)]
    public void Shard_Parses(string text, int index, int count) => Assert.Equal(new CampaignShard(index, count), CampaignShard.Parse(text));

    [Theory]
    [InlineData("4/4")]
    [InlineData("-1/4")]
    [InlineData("1/0")]
    [InlineData("1")]
    [InlineData("a/b")]
    public void Shard_RejectsBadText(string text) => Assert.Throws<FormatException>(() => CampaignShard.Parse(text));

    [Fact]
    public void Shard_DefaultsFromKubernetesAndCiEnvironments()
    {
        static Func<string, string?> Env(params (string, string)[] vars) => name => vars.FirstOrDefault(v => v.Item1 == name).Item2;
        Assert.Null(CampaignShard.FromEnvironment(Env()));
        Assert.Equal(new CampaignShard(2, 5), CampaignShard.FromEnvironment(Env(("ASUPERSYNC_SHARD", "2/5"))));
        // Kubernetes Indexed Job: the pod's completion index, the count set in the manifest.
        Assert.Equal(new CampaignShard(3, 4), CampaignShard.FromEnvironment(Env(("JOB_COMPLETION_INDEX", "3"), ("ASUPERSYNC_SHARD_COUNT", "4"))));
        // GitHub Actions matrix: strategy.job-index / strategy.job-total mapped to the two variables; they win over Kubernetes'.
        Assert.Equal(new CampaignShard(1, 3), CampaignShard.FromEnvironment(Env(("ASUPERSYNC_SHARD_INDEX", "1"), ("ASUPERSYNC_SHARD_COUNT", "3"), ("JOB_COMPLETION_INDEX", "0"))));
        Assert.Contains("ASUPERSYNC_SHARD_COUNT", Assert.Throws<FormatException>(() => CampaignShard.FromEnvironment(Env(("JOB_COMPLETION_INDEX", "3")))).Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => CampaignShard.FromEnvironment(Env(("JOB_COMPLETION_INDEX", "4"), ("ASUPERSYNC_SHARD_COUNT", "4"))));
        Assert.Throws<FormatException>(() => CampaignShard.FromEnvironment(Env(("ASUPERSYNC_SHARD_COUNT", "4"))));
        Assert.Throws<FormatException>(() => CampaignShard.FromEnvironment(Env(("ASUPERSYNC_SHARD", "x"))));
    }
}
