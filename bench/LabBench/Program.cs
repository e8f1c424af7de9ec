using System.Diagnostics;
using System.Globalization;
using Asupersync.Lab;
using Asupersync.Lab.Exploration;
using Asupersync.LabBench;

// The Lab benchmark: for each seeded-bug program and each strategy, the schedules to the first bug (median over 5
// seeds far apart, within a budget), schedules per second, and what each strategy says about the fixed variant.
//   dotnet run -c Release --project bench/LabBench [-- --budget 10000 --fixed-budget 2000 --only twostage]
int budget = Arg("--budget", 10_000);
int fixedBudget = Arg("--fixed-budget", 2_000);
string? only = ArgS("--only");
ulong[] seeds = [1, 1_000_003, 2_000_029, 3_000_017, 4_000_037];
(string Name, ExploreStrategy Strategy, int Depth)[] strategies =
[
    ("random", ExploreStrategy.Random, 0), ("pct1", ExploreStrategy.Pct, 1), ("pct2", ExploreStrategy.Pct, 2), ("pct3", ExploreStrategy.Pct, 3),
    ("dpor", ExploreStrategy.Dpor, 0), ("portfolio", ExploreStrategy.Portfolio, 0),
];

Console.WriteLine($"Lab benchmark: schedules to first bug (median of {seeds.Length} seeds; '>{budget}' = not found within the budget), schedules/s, fixed variant within {fixedBudget} schedules.");
Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, load average {LoadAverage()} at start.");
Console.WriteLine();
Console.WriteLine("| program | " + string.Join(" | ", strategies.Select(s => s.Name)) + " | best single | portfolio / best |");
Console.WriteLine("| --- | " + string.Join(" | ", strategies.Select(_ => "---")) + " | --- | --- |");
var fixedRows = new List<string>();
long totalSchedules = 0;
var totalTime = TimeSpan.Zero;
foreach (var bug in SeededBugs.All)
{
    if (only is not null && bug.Name != only) continue;
    var medians = new Dictionary<string, int>();
    var cells = new List<string>();
    foreach (var (name, strategy, depth) in strategies)
    {
        var found = new List<int>();
        foreach (var seed in strategy == ExploreStrategy.Dpor ? seeds.Take(1) : seeds)
        {
            var r = LabRuntime.Explore(bug.Buggy, Options(strategy, depth, seed, budget));
            totalSchedules += r.Schedules + r.PrunedSchedules;
            totalTime += r.Elapsed;
            found.Add(r.FirstFailureSchedule > 0 ? r.FirstFailureSchedule : int.MaxValue);
        }
        found.Sort();
        int median = found[found.Count / 2];
        medians[name] = median;
        string all = string.Join(",", found.Select(Show));
        cells.Add(strategy == ExploreStrategy.Dpor ? Show(median) : $"{Show(median)} ({all})");
    }
    var best = medians.Where(m => m.Key != "portfolio").MinBy(m => m.Value);
    string ratio = best.Value == int.MaxValue ? "-" : medians["portfolio"] == int.MaxValue ? "not found" : (medians["portfolio"] / (double)best.Value).ToString("0.0", CultureInfo.InvariantCulture);
    Console.WriteLine($"| {bug.Name} | {string.Join(" | ", cells)} | {best.Key} {Show(best.Value)} | {ratio} |");

    var verdicts = new List<string>();
    foreach (var (name, strategy, depth) in strategies)
    {
        var r = LabRuntime.Explore(bug.Fixed, Options(strategy, depth, seeds[0], fixedBudget));
        totalSchedules += r.Schedules + r.PrunedSchedules;
        totalTime += r.Elapsed;
        verdicts.Add(r.FirstFailure is { } f ? "FALSE POSITIVE: " + f.FirstFailure?.Oracle : r.Exhausted ? $"exhausted ({r.Schedules})" : "clean");
    }
    fixedRows.Add($"| {bug.Name} | {string.Join(" | ", verdicts)} |");
}
Console.WriteLine();
Console.WriteLine("Fixed variants:");
Console.WriteLine();
Console.WriteLine("| program | " + string.Join(" | ", strategies.Select(s => s.Name)) + " |");
Console.WriteLine("| --- | " + string.Join(" | ", strategies.Select(_ => "---")) + " |");
foreach (var row in fixedRows) Console.WriteLine(row);
Console.WriteLine();
Console.WriteLine($"Throughput over the whole benchmark: {totalSchedules:N0} schedules in {totalTime.TotalSeconds:0.0} s = {totalSchedules / Math.Max(1e-9, totalTime.TotalSeconds):N0} schedules/s (one thread).");

// The cost of choice points: the same small program with and without them.
var small = SeededBugs.LostUpdate(true);
foreach (bool on in new[] { false, true, false, true })
{
    var sw = Stopwatch.StartNew();
    var r = LabRuntime.Explore(small, new ExploreOptions
    {
        Strategy = ExploreStrategy.Random,
        MaxSchedules = 20_000,
        StopOnFirstFailure = false,
        Lab = LabOptions.Default with { ChoicePoints = on },
    });
    sw.Stop();
    Console.WriteLine($"lost-update (fixed), random, choice points {(on ? "on " : "off")}: {r.Schedules / sw.Elapsed.TotalSeconds:N0} schedules/s");
}
// The cost of the refinement oracle (on by default): the same programs with and without it, interleaved.
foreach (var (label, program) in new[] { ("lost-update (fixed)", SeededBugs.LostUpdate(true)), ("philosophers-3 (fixed)", SeededBugs.Philosophers(3, true)) })
{
    foreach (bool on in new[] { false, true, false, true })
    {
        var sw = Stopwatch.StartNew();
        var r = LabRuntime.Explore(program, new ExploreOptions
        {
            Strategy = ExploreStrategy.Random,
            MaxSchedules = 10_000,
            StopOnFirstFailure = false,
            Lab = LabOptions.Default with { CheckRefinement = on },
        });
        sw.Stop();
        Console.WriteLine($"{label}, random, refinement oracle {(on ? "on " : "off")}: {r.Schedules / sw.Elapsed.TotalSeconds:N0} schedules/s");
    }
}
Console.WriteLine($"Load average at end: {LoadAverage()}.");
return 0;

static ExploreOptions Options(ExploreStrategy strategy, int depth, ulong seed, int budget) => new()
{
    Strategy = strategy,
    PctDepth = Math.Max(1, depth),
    Seed = seed,
    MaxSchedules = budget,
    MaxWallTime = TimeSpan.FromMinutes(5),
    StopOnFirstFailure = true,
    // Sound mode: the programs share plain fields, which they do not declare.
    Lab = LabOptions.Default with { SharedState = SharedState.Undeclared, AcceptErr = false },
};

static string Show(int n) => n == int.MaxValue ? ">" + Arg("--budget", 10_000).ToString(CultureInfo.InvariantCulture) : n.ToString(CultureInfo.InvariantCulture);

static string LoadAverage()
{
    try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
    catch (IOException) { return "?"; }
}

static int Arg(string name, int fallback)
{
    var a = Environment.GetCommandLineArgs();
    int i = Array.IndexOf(a, name);
    return i >= 0 && i + 1 < a.Length && int.TryParse(a[i + 1], out var v) ? v : fallback;
}

static string? ArgS(string name)
{
    var a = Environment.GetCommandLineArgs();
    int i = Array.IndexOf(a, name);
    return i >= 0 && i + 1 < a.Length ? a[i + 1] : null;
}
