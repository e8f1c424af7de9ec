using Asupersync.Cli;
using Asupersync.Lab.Campaigns;
using Asupersync.Lab.Tests.Cli;

namespace Asupersync.Lab.Tests.Campaigns;

/// <summary>
/// The three versioned JSON files the Lab writes (a trace, a campaign result, the CLI's exploration result) are read
/// by one set of rules: a damaged file of any kind is an <see cref="InvalidDataException"/> naming the file, never a
/// JSON or key exception, and shard indices that do not fit the shard count are refused the same way.
/// </summary>
public sealed class ResultFileTests
{
    private static readonly (string Name, string Json, Func<string, string, object> Read)[] Files = Make();

    private static (string, string, Func<string, string, object>)[] Make()
    {
        var trace = LabRuntime.Run(3, Programs.Workers(2, 2)).Trace.ToJson();
        var campaign = LabCampaign.Run(Programs.Workers(2, 1), new CampaignOptions { MaxRuns = 10, Shard = new CampaignShard(1, 2) }).ToJson();
        var plan = new ExplorePlan("Asupersync.Lab.Tests.Cli.CliPrograms.Passes", Exploration.ExploreStrategy.Portfolio, 3, false, 7, 20, 2);
        var explore = ExploreShardResult.Run(CliPrograms.Passes, plan, 1, new LabOptions { ProgramName = plan.Program }, TimeSpan.FromMinutes(5)).Result.ToJson();
        return
        [
            ("trace", trace, (j, s) => LabTrace.FromJson(j)),
            ("campaign", campaign, (j, s) => CampaignResult.FromJson(j, s)),
            ("explore", explore, (j, s) => ExploreShardResult.FromJson(j, s)),
        ];
    }

    public static TheoryData<string> Kinds => ["trace", "campaign", "explore"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ValidFile_Reads(string kind)
    {
        var f = Files.Single(x => x.Name == kind);
        Assert.NotNull(f.Read(f.Json, "file.json"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TruncatedFiles_AreInvalidData_NeverAnotherException(string kind)
    {
        var f = Files.Single(x => x.Name == kind);
        for (int k = 1; k < 40; k++)
        {
            var cut = f.Json[..(f.Json.Length * k / 40)];
            var e = Record.Exception(() => f.Read(cut, "cut.json"));
            Assert.IsType<InvalidDataException>(e);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void MissingOrMistypedMembers_AreInvalidData(string kind)
    {
        var f = Files.Single(x => x.Name == kind);
        foreach (var (from, to) in new[] { ("\"version\"", "\"versio\""), ("\"plan\"", "\"plam\""), ("\"payload\"", "\"paylod\""), ("\"format\"", "\"formt\"") })
        {
            if (!f.Json.Contains(from, StringComparison.Ordinal)) continue;
            var e = Record.Exception(() => f.Read(f.Json.Replace(from, to, StringComparison.Ordinal), "edited.json"));
            Assert.IsType<InvalidDataException>(e);
        }
        Assert.IsType<InvalidDataException>(Record.Exception(() => f.Read("[1, 2]", "array.json")));
        Assert.IsType<InvalidDataException>(Record.Exception(() => f.Read("not json", "text.json")));
    }

    [Theory]
    [InlineData("campaign")]
    [InlineData("explore")]
    public void ShardIndicesOutsideTheCount_AreRefused_NamingTheFile(string kind)
    {
        var f = Files.Single(x => x.Name == kind);
        int at = f.Json.IndexOf("\"shards\": [", StringComparison.Ordinal);
        Assert.True(at > 0);
        int close = f.Json.IndexOf(']', at);
        var edited = f.Json[..at] + "\"shards\": [ 2 ]" + f.Json[(close + 1)..];
        var e = Assert.IsType<InvalidDataException>(Record.Exception(() => f.Read(edited, "s2.json")));
        Assert.Contains("s2.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("do not fit 2 shards", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExploreMerge_RefusesADuplicateShard_AsCampaignMergeDoes()
    {
        var f = Files.Single(x => x.Name == "explore");
        var part = ExploreShardResult.FromJson(f.Json, "s1.json");
        var e = Assert.Throws<ArgumentException>(() => ExploreShardResult.Merge([part, part]));
        Assert.Contains("Shard 1/2 appears more than once", e.Message, StringComparison.Ordinal);
    }
}
