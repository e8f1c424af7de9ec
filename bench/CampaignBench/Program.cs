using System.Diagnostics;
using System.Globalization;
using Asupersync;
using Asupersync.Lab;
using Asupersync.Lab.Campaigns;

// Campaign throughput: one process running every run of a campaign against n processes each running one shard
// (started together, timed from the first start to the last exit, then merged). Both sides are child processes, so
// each pays the same start-up; rounds alternate 1-process and n-process to share the machine's load fairly.
//
//   dotnet run -c Release --project bench/CampaignBench -- [runs] [rounds] [shards]
//   (child mode: --child i/n runs out.json)

if (args.Length >= 1 && args[0] == "--child")
{
    var shard = CampaignShard.Parse(args[1]);
    var result = LabCampaign.Run(Programs.Workers, Options(int.Parse(args[2], CultureInfo.InvariantCulture)) with { Shard = shard });
    result.Save(args[3]);
    return 0;
}

int runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 40_000;
int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
int shards = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2;
var dir = Path.Combine(Path.GetTempPath(), "asupersync-campaign-bench", Guid.NewGuid().ToString("n"));
Console.WriteLine($"campaign of {runs} runs (portfolio; 3 tasks x 10 yields, a 1 % flaky check monitored as Run <= 5 %), {Environment.ProcessorCount} cores, {rounds} rounds");
int steps = LabRuntime.Run(1, Programs.Workers).Steps;
Console.WriteLine($"steps per run: about {steps}");
var one = new List<double>();
var many = new List<double>();
CampaignResult? reference = null;
for (int r = 0; r < rounds; r++)
{
    var (t1, single) = Measure(1);
    var (tn, merged) = Measure(shards);
    one.Add(runs / t1);
    many.Add(runs / tn);
    Console.WriteLine($"round {r + 1}: 1 process {runs / t1,8:N0} runs/s ({t1:N2} s); {shards} shard processes {runs / tn,8:N0} runs/s ({tn:N2} s); ratio {t1 / tn:N2}");
    if (single.Properties.Select(p => (p.Violations, p.UpperBound)).SequenceEqual(merged.Properties.Select(p => (p.Violations, p.UpperBound))) is false)
        throw new InvalidOperationException("merged shards differ from the single process");
    reference ??= single;
}
one.Sort();
many.Sort();
double m1 = one[one.Count / 2], mn = many[many.Count / 2];
Console.WriteLine($"median: 1 process {m1:N0} runs/s, {shards} shards {mn:N0} runs/s, speed-up {mn / m1:N2}x (merged result identical to the single process in every round)");
Console.WriteLine(reference!.Describe());
Directory.Delete(dir, recursive: true);
return 0;

(double Seconds, CampaignResult Result) Measure(int n)
{
    var sw = Stopwatch.StartNew();
    var files = Enumerable.Range(0, n).Select(i => Path.Combine(dir, $"{n}-{i}.json")).ToArray();
    var processes = Enumerable.Range(0, n).Select(i => Process.Start(Child($"{i}/{n}", files[i]))!).ToList();
    foreach (var p in processes)
    {
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"child exited {p.ExitCode}");
        p.Dispose();
    }
    double seconds = sw.Elapsed.TotalSeconds;
    return (seconds, CampaignResult.Merge(files.Select(CampaignResult.Load)));
}

ProcessStartInfo Child(string shard, string output)
{
    var host = Environment.ProcessPath!;
    var psi = new ProcessStartInfo(host) { UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(host) == "dotnet") psi.ArgumentList.Add(typeof(Programs).Assembly.Location);
    foreach (var a in new[] { "--child", shard, runs.ToString(CultureInfo.InvariantCulture), output }) psi.ArgumentList.Add(a);
    return psi;
}

static CampaignOptions Options(int runs) => new()
{
    Properties = [.. CampaignProperty.Defaults.SkipLast(1), CampaignProperty.OtherFailures(nullRate: 0.05)],
    MaxRuns = runs,
    MaxWallTime = TimeSpan.FromMinutes(30),
};

internal static class Programs
{
    internal static async Task Workers(Cx cx)
    {
        var a = cx.Spawn("a", Worker);
        var b = cx.Spawn("b", Worker);
        var c = cx.Spawn("c", Worker);
        await a.JoinAsync(cx);
        await b.JoinAsync(cx);
        await c.JoinAsync(cx);
        if (cx.NextRandomDouble() < 0.01) throw new TimeoutException("flaky");
    }

    private static async Task Worker(Cx cx)
    {
        for (int i = 0; i < 10; i++) await cx.YieldAsync();
    }
}

/// <summary>Programs for <c>asupersync explore --shard</c> (explore-shards.sh): the campaign's workers without the flaky check.</summary>
public static class ShardPrograms
{
    /// <summary>Three tasks of ten yields each, joined; passes on every schedule.</summary>
    /// <param name="cx">The root task's context.</param>
    /// <returns>The root task.</returns>
    public static async Task Workers(Cx cx)
    {
        var a = cx.Spawn("a", Worker);
        var b = cx.Spawn("b", Worker);
        var c = cx.Spawn("c", Worker);
        await a.JoinAsync(cx);
        await b.JoinAsync(cx);
        await c.JoinAsync(cx);
    }

    private static async Task Worker(Cx cx)
    {
        for (int i = 0; i < 10; i++) await cx.YieldAsync();
    }
}
