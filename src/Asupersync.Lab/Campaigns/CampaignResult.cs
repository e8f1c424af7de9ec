using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Asupersync.Lab.Campaigns;

/// <summary>The violation a failed campaign reports.</summary>
/// <param name="Property">The property violated.</param>
/// <param name="Run">The run index.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="TracePath">Where its trace was saved, if it was.</param>
public sealed record CampaignViolation(string Property, long Run, ulong Seed, string? TracePath);

/// <summary>
/// What a campaign (or a shard of it, or merged shards) ran, what each property shows, and which rule stopped it.
/// Saved as a versioned JSON file (<see cref="Save"/>); shard files merge with <see cref="Merge"/>.
/// </summary>
public sealed class CampaignResult
{
    /// <summary>The result file's format name.</summary>
    public const string FormatName = "asupersync-campaign";

    /// <summary>The result file's format version.</summary>
    public const int FormatVersion = 1;

    private readonly CampaignCounts _counts;

    private CampaignResult(CampaignPlan plan, IReadOnlyList<int> shards, CampaignCounts counts, bool timedOut, TimeSpan elapsed, IReadOnlyDictionary<(long, string), string>? traces)
    {
        Plan = plan;
        Shards = shards;
        _counts = counts;
        TimedOut = timedOut;
        Elapsed = elapsed;
        Properties = counts.Results(plan);
        (StopRule, var failing) = Classify(plan, counts, Properties, timedOut);
        if (failing is { FirstViolationRun: { } run, FirstViolationSeed: { } seed })
            FirstViolation = new CampaignViolation(failing.Name, run, seed, traces is not null && traces.TryGetValue((run, failing.Name), out var t) ? t : null);
    }

    internal static CampaignResult Create(CampaignPlan plan, IReadOnlyList<int> shards, CampaignCounts counts, bool timedOut, TimeSpan elapsed, IReadOnlyDictionary<(long, string), string>? traces) =>
        new(plan, shards, counts, timedOut, elapsed, traces);

    /// <summary>The plan: program, strategy, seeds, budget, α, properties, shard count.</summary>
    public CampaignPlan Plan { get; }

    /// <summary>Which shards' runs this result holds (all of 0 … n − 1 for a whole or merged campaign).</summary>
    public IReadOnlyList<int> Shards { get; }

    /// <summary>Runs done.</summary>
    public long Runs => _counts.Runs;

    /// <summary>Each property's figures, in the plan's order.</summary>
    public IReadOnlyList<CampaignPropertyResult> Properties { get; }

    /// <summary>The rule that stopped the campaign.</summary>
    public CampaignStopRule StopRule { get; }

    /// <summary>True when an invariant was violated or a rate property was shown to exceed its p₀.</summary>
    public bool Failed => StopRule is CampaignStopRule.Violation or CampaignStopRule.Evidence;

    /// <summary>True when a target bound was asked for and every property's bound reached it.</summary>
    public bool TargetReached => StopRule == CampaignStopRule.TargetBound;

    /// <summary>True when the wall-clock budget ran out (in this process, or in any merged shard).</summary>
    public bool TimedOut { get; }

    /// <summary>The violation behind a failure (for an invariant its first violating run; for a rate property the first violating run as an example), or null.</summary>
    public CampaignViolation? FirstViolation { get; }

    /// <summary>The violating run re-run with every event recorded (in the process that ran it; null after loading a file).</summary>
    public LabRunResult? ViolatingRun { get; private set; }

    /// <summary>Wall-clock time spent (for merged shards: the longest shard's).</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Runs per wall-clock second.</summary>
    public double RunsPerSecond => Elapsed > TimeSpan.Zero ? Runs / Elapsed.TotalSeconds : 0;

    internal CampaignResult WithViolatingRun(LabRunResult run, string? tracePath)
    {
        var traces = tracePath is not null && FirstViolation is { } v ? new Dictionary<(long, string), string> { [(v.Run, v.Property)] = tracePath } : null;
        return new CampaignResult(Plan, Shards, _counts, TimedOut, Elapsed, traces) { ViolatingRun = run };
    }

    private static (CampaignStopRule, CampaignPropertyResult?) Classify(CampaignPlan plan, CampaignCounts counts, IReadOnlyList<CampaignPropertyResult> props, bool timedOut)
    {
        var violated = props.Where(p => p.NullRate is null && p.Violations > 0).MinBy(p => p.FirstViolationRun);
        if (violated is not null) return (CampaignStopRule.Violation, violated);
        var rejected = props.Where(p => p.NullRate is not null && p.Rejected).MinBy(p => p.FirstViolationRun);
        if (rejected is not null) return (CampaignStopRule.Evidence, rejected);
        if (plan.TargetUpperBound is { } t && counts.AllBoundsBelow(t, -Math.Log(plan.AlphaEach))) return (CampaignStopRule.TargetBound, null);
        return (timedOut ? CampaignStopRule.TimeBudget : CampaignStopRule.RunBudget, null);
    }

    /// <summary>
    /// Combines the results of the shards of one campaign. The counts add up and every figure is recomputed from
    /// them, so the merged result is the one a single process would have reported over the same runs.
    /// </summary>
    /// <remarks>
    /// Why adding counts is valid even though each shard stopped on its own: line the shards' runs up one after the
    /// other. Each shard's stopping depends only on its own runs, so the total is a stopping time of that one
    /// sequence of independent runs, and e-processes and confidence sequences are valid at stopping times. The
    /// e-process and the bounds depend on the counts only, not on the order. Pooling is also stronger than the
    /// product of the shards' e-values (also valid, the shards being independent), which pays the mixture's cost
    /// once per shard; the average of e-values, valid without independence, is not needed here because shards draw
    /// disjoint seeds.
    /// </remarks>
    /// <param name="shards">The shard results (files of one plan, each shard exactly once).</param>
    /// <returns>The merged result.</returns>
    /// <exception cref="ArgumentException">The results are of different plans, a shard appears twice, or one is missing.</exception>
    public static CampaignResult Merge(IEnumerable<CampaignResult> shards)
    {
        ArgumentNullException.ThrowIfNull(shards);
        var list = shards.ToList();
        if (list.Count == 0) throw new ArgumentException("Nothing to merge.", nameof(shards));
        var plan = list[0].Plan;
        foreach (var r in list)
        {
            if (!r.Plan.SameAs(plan))
                throw new ArgumentException($"Results of different campaigns cannot merge: {Describe(plan)} vs {Describe(r.Plan)}.", nameof(shards));
        }
        var shardList = ResultFile.CheckShards(list.Select(r => r.Shards), plan.ShardCount, requireAll: true, nameof(shards));

        var counts = new CampaignCounts(plan.Properties.Count);
        var traces = new Dictionary<(long, string), string>();
        foreach (var r in list)
        {
            counts.Runs += r.Runs;
            for (int j = 0; j < plan.Properties.Count; j++)
            {
                counts.Violations[j] += r._counts.Violations[j];
                if (r._counts.FirstRun[j] is { } run && (counts.FirstRun[j] is null || run < counts.FirstRun[j]))
                {
                    counts.FirstRun[j] = run;
                    counts.FirstSeed[j] = r._counts.FirstSeed[j];
                }
            }
            if (r.FirstViolation is { TracePath: { } path } v) traces[(v.Run, v.Property)] = path;
        }
        return new CampaignResult(plan, shardList, counts, list.Any(r => r.TimedOut), list.Max(r => r.Elapsed), traces);
    }

    /// <summary>A report: the verdict and the rule that stopped the campaign, then every property's figures.</summary>
    /// <returns>The text.</returns>
    public string Describe()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        string verdict = Failed ? "FAILED" : TargetReached ? "passed" : "no failure found";
        sb.Append(inv, $"Lab campaign {Plan.ProgramName ?? "(unnamed)"}: {verdict}; stopped by {StopRule}: {Explain()}").AppendLine();
        sb.Append(inv, $"  {Runs} runs ({Plan.Strategy}, seeds from {Plan.FirstSeed}, budget {Plan.MaxRuns}");
        if (Plan.ShardCount > 1) sb.Append(inv, $", shard{(Shards.Count > 1 ? "s" : "")} {string.Join(",", Shards)} of {Plan.ShardCount}");
        sb.Append(inv, $"), {Elapsed.TotalSeconds:N1} s, {RunsPerSecond:N0} runs/s").AppendLine();
        sb.Append(inv, $"  confidence {1 - Plan.Alpha:P1} for the whole report ({Plan.Properties.Count} properties at α/{Plan.Properties.Count} = {Plan.AlphaEach:G3} each, valid at any stopping time)").AppendLine();
        foreach (var p in Properties)
        {
            sb.Append("  ").Append(p.Name).Append(p.NullRate is { } p0 ? string.Create(inv, $" (rate ≤ {p0} allowed)") : " (invariant)")
              .Append(inv, $": {p.Violations}/{p.Runs} violations, rate ≤ {p.UpperBound:G3}");
            if (p.NullRate is not null)
                sb.Append(inv, $", e-value {CampaignPropertyResult.FormatE(p.EValue)}{(p.Rejected ? " ≥ " : " < ")}{CampaignPropertyResult.FormatE(1 / p.Alpha)}");
            if (p.FirstViolationSeed is { } s) sb.Append(inv, $", first at run {p.FirstViolationRun} (seed {s})");
            sb.AppendLine();
        }
        if (FirstViolation is { } v)
        {
            if (ViolatingRun is { } r) sb.AppendLine(r.Describe());
            else if (v.TracePath is not null) sb.Append("  trace: ").AppendLine(v.TracePath);
        }
        return sb.ToString().TrimEnd();
    }

    /// <inheritdoc />
    public override string ToString() => Describe();

    private string Explain()
    {
        var inv = CultureInfo.InvariantCulture;
        switch (StopRule)
        {
            case CampaignStopRule.Violation:
                return string.Create(inv, $"invariant {FirstViolation!.Property} violated at run {FirstViolation.Run} (seed {FirstViolation.Seed})");
            case CampaignStopRule.Evidence:
                var p = Properties.First(x => x.Name == FirstViolation!.Property);
                return string.Create(inv, $"{p.Name}'s violation rate is above {p.NullRate} (e-value {CampaignPropertyResult.FormatE(p.EValue)} ≥ {CampaignPropertyResult.FormatE(1 / p.Alpha)})");
            case CampaignStopRule.TargetBound:
                return string.Create(inv, $"every property's rate bound is ≤ {Plan.TargetUpperBound}");
            case CampaignStopRule.TimeBudget:
                return "the wall-clock budget ran out" + (Plan.TargetUpperBound is { } t ? string.Create(inv, $" before every bound reached {t}") : "");
            default:
                return string.Create(inv, $"all {Plan.MaxRuns} runs done") + (Plan.TargetUpperBound is { } t2 ? string.Create(inv, $" before every bound reached {t2}") : "");
        }
    }

    private static string Describe(CampaignPlan p) =>
        string.Create(CultureInfo.InvariantCulture, $"[{p.ProgramName}, {p.Strategy}, seed {p.FirstSeed}, {p.MaxRuns} runs, α {p.Alpha}, target {p.TargetUpperBound?.ToString(CultureInfo.InvariantCulture) ?? "none"}, {string.Join("+", p.Properties.Select(x => x.Name + (x.NullRate is { } r ? "<=" + r.ToString(CultureInfo.InvariantCulture) : "")))}, {p.ShardCount} shards]");

    /// <summary>Writes the result as JSON (format <see cref="FormatName"/>, version <see cref="FormatVersion"/>).</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteNumber("version", FormatVersion);
            w.WriteStartObject("plan");
            if (Plan.ProgramName is null) w.WriteNull("program");
            else w.WriteString("program", Plan.ProgramName);
            w.WriteString("strategy", Plan.Strategy.ToString());
            w.WriteNumber("firstSeed", Plan.FirstSeed);
            w.WriteNumber("maxRuns", Plan.MaxRuns);
            w.WriteNumber("alpha", Plan.Alpha);
            if (Plan.TargetUpperBound is { } t) w.WriteNumber("targetUpperBound", t);
            else w.WriteNull("targetUpperBound");
            w.WriteNumber("shardCount", Plan.ShardCount);
            w.WriteStartArray("properties");
            foreach (var (name, rate) in Plan.Properties)
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                if (rate is { } r) w.WriteNumber("nullRate", r);
                else w.WriteNull("nullRate");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartArray("shards");
            foreach (var s in Shards) w.WriteNumberValue(s);
            w.WriteEndArray();
            w.WriteNumber("runs", Runs);
            w.WriteString("stop", StopRule.ToString());
            w.WriteBoolean("timedOut", TimedOut);
            w.WriteNumber("elapsedSeconds", Math.Round(Elapsed.TotalSeconds, 3));
            w.WriteStartArray("properties");
            foreach (var p in Properties)
            {
                w.WriteStartObject();
                w.WriteString("name", p.Name);
                w.WriteNumber("runs", p.Runs);
                w.WriteNumber("violations", p.Violations);
                if (p.FirstViolationRun is { } fr) w.WriteNumber("firstViolationRun", fr);
                else w.WriteNull("firstViolationRun");
                if (p.FirstViolationSeed is { } fs) w.WriteNumber("firstViolationSeed", fs);
                else w.WriteNull("firstViolationSeed");
                // Derived from the counts (and recomputed on load); written for people and scripts reading the file.
                w.WriteString("eValue", CampaignPropertyResult.FormatE(p.EValue));
                w.WriteNumber("upperBound", p.UpperBound);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (FirstViolation is { } v)
            {
                w.WriteStartObject("firstViolation");
                w.WriteString("property", v.Property);
                w.WriteNumber("run", v.Run);
                w.WriteNumber("seed", v.Seed);
                if (v.TracePath is null) w.WriteNull("trace");
                else w.WriteString("trace", v.TracePath);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Saves the result to a JSON file (creating its directory).</summary>
    /// <param name="path">The file.</param>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir) Directory.CreateDirectory(dir);
        File.WriteAllText(path, ToJson());
    }

    /// <summary>Loads a result file.</summary>
    /// <param name="path">A file written by <see cref="Save"/>.</param>
    /// <returns>The result (without <see cref="ViolatingRun"/>).</returns>
    /// <exception cref="InvalidDataException">The file is not a campaign result of a version this library reads.</exception>
    public static CampaignResult Load(string path) => FromJson(File.ReadAllText(path), path);

    /// <summary>Parses a result from JSON.</summary>
    /// <param name="json">The text written by <see cref="ToJson"/>.</param>
    /// <param name="source">A name for error messages.</param>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidDataException">The text is not a campaign result of a version this library reads.</exception>
    public static CampaignResult FromJson(string json, string source = "campaign result") => ResultFile.Read(json, source, FormatName, FormatVersion, root =>
    {
        var p = root.GetProperty("plan");
        var props = p.GetProperty("properties").EnumerateArray()
            .Select(x => (x.GetProperty("name").GetString()!, x.GetProperty("nullRate").ValueKind == JsonValueKind.Null ? (double?)null : x.GetProperty("nullRate").GetDouble()))
            .ToArray();
        if (props.Length == 0) throw new InvalidDataException($"{source}: the plan has no property.");
        var plan = new CampaignPlan(
            p.GetProperty("program").ValueKind == JsonValueKind.Null ? null : p.GetProperty("program").GetString(),
            Enum.Parse<CampaignStrategy>(p.GetProperty("strategy").GetString()!),
            p.GetProperty("firstSeed").GetUInt64(),
            p.GetProperty("maxRuns").GetInt32(),
            p.GetProperty("alpha").GetDouble(),
            p.GetProperty("targetUpperBound").ValueKind == JsonValueKind.Null ? null : p.GetProperty("targetUpperBound").GetDouble(),
            props,
            p.GetProperty("shardCount").GetInt32());
        var shards = ResultFile.ReadShards(root.GetProperty("shards"), plan.ShardCount, source);
        var counts = new CampaignCounts(props.Length) { Runs = root.GetProperty("runs").GetInt64() };
        var results = root.GetProperty("properties").EnumerateArray().ToArray();
        if (results.Length != props.Length) throw new InvalidDataException($"{source}: {results.Length} property results for {props.Length} properties.");
        for (int j = 0; j < props.Length; j++)
        {
            var r = results[j];
            if (r.GetProperty("name").GetString() != props[j].Item1) throw new InvalidDataException($"{source}: property {j} is named differently in the plan and the results.");
            counts.Violations[j] = r.GetProperty("violations").GetInt64();
            if (r.GetProperty("runs").GetInt64() != counts.Runs || counts.Violations[j] < 0 || counts.Violations[j] > counts.Runs)
                throw new InvalidDataException($"{source}: property {props[j].Item1} has inconsistent counts.");
            if (r.GetProperty("firstViolationRun").ValueKind != JsonValueKind.Null)
            {
                counts.FirstRun[j] = r.GetProperty("firstViolationRun").GetInt64();
                counts.FirstSeed[j] = r.GetProperty("firstViolationSeed").GetUInt64();
            }
        }
        Dictionary<(long, string), string>? traces = null;
        if (root.TryGetProperty("firstViolation", out var v) && v.GetProperty("trace").GetString() is { } trace)
            traces = new() { [(v.GetProperty("run").GetInt64(), v.GetProperty("property").GetString()!)] = trace };
        return new CampaignResult(plan, shards, counts, root.GetProperty("timedOut").GetBoolean(), TimeSpan.FromSeconds(root.GetProperty("elapsedSeconds").GetDouble()), traces);
    });
}
