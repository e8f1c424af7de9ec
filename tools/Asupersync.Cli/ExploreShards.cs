using System.Globalization;
using System.Text;
using System.Text.Json;
using Asupersync.Lab;
using Asupersync.Lab.Campaigns;
using Asupersync.Lab.Exploration;

namespace Asupersync.Cli;

/// <summary>
/// The plan of a sharded exploration: what every shard must agree on. Shard <c>i</c> of <c>n</c> explores with base
/// seed <c>Seed + i</c> and its share of <see cref="MaxSchedules"/> (<c>⌊M/n⌋</c>, plus one for the first
/// <c>M mod n</c> shards), so shard 0 of 1 is the unsharded exploration. Shards share no state: a sharded portfolio
/// is <c>n</c> independent explorations (each with its own random and PCT streams, and each with its own DPOR member,
/// which repeats the others' classes when the program draws no entropy), not one exploration of budget M.
/// </summary>
internal sealed record ExplorePlan(string Program, ExploreStrategy Strategy, int PctDepth, bool DeclaredState, ulong Seed, int MaxSchedules, int ShardCount)
{
    /// <summary>Shard <paramref name="index"/>'s schedule budget.</summary>
    internal int Budget(int index) => MaxSchedules / ShardCount + (index < MaxSchedules % ShardCount ? 1 : 0);

    /// <summary>Shard <paramref name="index"/>'s base seed.</summary>
    internal ulong SeedOf(int index) => unchecked(Seed + (ulong)index);

    /// <summary>The exploration options of one shard.</summary>
    internal ExploreOptions Options(int index, LabOptions lab, TimeSpan maxWallTime, Action<ExploreProgress>? progress, TimeSpan progressInterval) => new()
    {
        Strategy = Strategy,
        PctDepth = PctDepth,
        MaxSchedules = Math.Max(1, Budget(index)),
        Seed = SeedOf(index),
        MaxWallTime = maxWallTime,
        Lab = lab with { SharedState = DeclaredState ? SharedState.Declared : SharedState.Undeclared, AcceptErr = false },
        Progress = progress,
        ProgressInterval = progressInterval,
    };

    internal string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"[{Program}, {Strategy}, seed {Seed}, {MaxSchedules} schedules, {ShardCount} shards]");
}

/// <summary>The failing schedule a shard found.</summary>
internal sealed record ExploreFailure(int Shard, int Schedule, string Strategy, ulong Seed, string Oracle, string Message, string? Trace, string ReplayHandle);

/// <summary>
/// The result of one or more shards of an exploration, as written to a result file (format
/// <see cref="FormatName"/>, version <see cref="FormatVersion"/>) and merged by <c>asupersync merge</c>.
/// </summary>
internal sealed class ExploreShardResult
{
    internal const string FormatName = "asupersync-explore";
    internal const int FormatVersion = 1;

    internal required ExplorePlan Plan { get; init; }

    internal required IReadOnlyList<int> Shards { get; init; }

    internal required int Schedules { get; init; }

    internal required int PrunedSchedules { get; init; }

    /// <summary>The Foata fingerprints of the classes seen (the union over the shards).</summary>
    internal required IReadOnlySet<ulong> Classes { get; init; }

    /// <summary>True when a shard's DPOR member covered every class (for that shard's entropy seed).</summary>
    internal required bool Exhausted { get; init; }

    /// <summary>Why each shard stopped, in shard order.</summary>
    internal required IReadOnlyList<string> StopReasons { get; init; }

    internal required IReadOnlyList<ExploreFailure> Failures { get; init; }

    internal required double ElapsedSeconds { get; init; }

    internal bool Failed => Failures.Count > 0;

    internal bool Complete => Shards.Count == Plan.ShardCount;

    /// <summary>Runs shard <paramref name="index"/> of a plan.</summary>
    internal static (ExploreShardResult Result, ExploreResult Raw) Run(Func<Cx, Task> program, ExplorePlan plan, int index, LabOptions lab, TimeSpan maxWallTime, Action<ExploreProgress>? progress = null, TimeSpan? progressInterval = null)
    {
        var raw = LabRuntime.Explore(program, plan.Options(index, lab, maxWallTime, progress, progressInterval ?? TimeSpan.FromSeconds(1)));
        if (raw.FirstFailure is { TracePath: null } f) f.SaveTrace(lab.TraceDirectory);
        var failures = raw.FirstFailure is { } first
            ? new[]
            {
                new ExploreFailure(index, raw.FirstFailureSchedule, raw.FirstFailureStrategy ?? plan.Strategy.ToString().ToLowerInvariant(), first.Seed,
                    first.FirstFailure?.Oracle ?? (first.Outcome?.IsPanicked == true ? "Panicked" : "Failed"),
                    OneLine(first.FirstFailure?.Message ?? first.Outcome?.ToString() ?? "the root never closed"), first.TracePath, first.ReplayHandle),
            }
            : [];
        var result = new ExploreShardResult
        {
            Plan = plan,
            Shards = [index],
            Schedules = raw.Schedules,
            PrunedSchedules = raw.PrunedSchedules,
            Classes = raw.ClassFingerprints,
            Exhausted = raw.Exhausted,
            StopReasons = [raw.StopReason],
            Failures = failures,
            ElapsedSeconds = Math.Round(raw.Elapsed.TotalSeconds, 3),
        };
        return (result, raw);
    }

    /// <summary>Combines disjoint shards of one plan (in shard order), as if one process had run them one after the other.</summary>
    internal static ExploreShardResult Merge(IEnumerable<ExploreShardResult> parts)
    {
        var list = parts.ToList();
        if (list.Count == 0) throw new ArgumentException("Nothing to merge.");
        var plan = list[0].Plan;
        foreach (var r in list)
        {
            if (r.Plan != plan) throw new ArgumentException($"Results of different explorations cannot merge: {plan.Describe()} vs {r.Plan.Describe()}.");
        }
        ResultFile.CheckShards(list.Select(r => r.Shards), plan.ShardCount, requireAll: false, nameof(parts));
        var ordered = list.SelectMany(r => r.Shards.Select((s, k) => (Shard: s, Part: r, K: k))).OrderBy(x => x.Shard).ToList();
        var classes = new HashSet<ulong>();
        foreach (var r in list) classes.UnionWith(r.Classes);
        return new ExploreShardResult
        {
            Plan = plan,
            Shards = [.. ordered.Select(x => x.Shard)],
            Schedules = list.Sum(r => r.Schedules),
            PrunedSchedules = list.Sum(r => r.PrunedSchedules),
            Classes = classes,
            Exhausted = list.Any(r => r.Exhausted),
            StopReasons = [.. ordered.Select(x => x.Part.StopReasons[x.K])],
            Failures = [.. list.SelectMany(r => r.Failures).OrderBy(f => f.Shard)],
            ElapsedSeconds = Math.Round(list.Sum(r => r.ElapsedSeconds), 3),
        };
    }

    internal string Describe()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"Exploration ({Plan.Strategy}) of {Plan.Program}: {Schedules} schedules, {Classes.Count} classes, {PrunedSchedules} pruned");
        if (Plan.ShardCount > 1) sb.Append(inv, $", shard{(Shards.Count > 1 ? "s" : "")} {string.Join(",", Shards)} of {Plan.ShardCount}{(Complete ? " (all)" : "")}");
        sb.Append(", stopped: ").Append(string.Join(", ", StopReasons.Distinct()));
        if (Exhausted) sb.Append(" (every class covered)");
        foreach (var f in Failures)
        {
            sb.AppendLine().Append(inv, $"FAILED{(Plan.ShardCount > 1 ? $" in shard {f.Shard}" : "")} at schedule {f.Schedule} ({f.Strategy}, seed {f.Seed}): {f.Oracle}: {f.Message}");
            if (f.Trace is not null) sb.AppendLine().Append("  trace:  ").Append(f.Trace);
        }
        return sb.ToString();
    }

    internal string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteNumber("version", FormatVersion);
            w.WriteStartObject("plan");
            w.WriteString("program", Plan.Program);
            w.WriteString("strategy", Plan.Strategy.ToString());
            w.WriteNumber("pctDepth", Plan.PctDepth);
            w.WriteBoolean("declaredState", Plan.DeclaredState);
            w.WriteNumber("seed", Plan.Seed);
            w.WriteNumber("maxSchedules", Plan.MaxSchedules);
            w.WriteNumber("shardCount", Plan.ShardCount);
            w.WriteEndObject();
            w.WriteStartArray("shards");
            foreach (var s in Shards) w.WriteNumberValue(s);
            w.WriteEndArray();
            w.WriteNumber("schedules", Schedules);
            w.WriteNumber("prunedSchedules", PrunedSchedules);
            w.WriteNumber("classCount", Classes.Count);
            w.WriteBoolean("exhausted", Exhausted);
            w.WriteBoolean("failed", Failed);
            w.WriteStartArray("stopReasons");
            foreach (var s in StopReasons) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteNumber("elapsedSeconds", ElapsedSeconds);
            w.WriteStartArray("failures");
            foreach (var f in Failures)
            {
                w.WriteStartObject();
                w.WriteNumber("shard", f.Shard);
                w.WriteNumber("schedule", f.Schedule);
                w.WriteString("strategy", f.Strategy);
                w.WriteNumber("seed", f.Seed);
                w.WriteString("oracle", f.Oracle);
                w.WriteString("message", f.Message);
                if (f.Trace is null) w.WriteNull("trace");
                else w.WriteString("trace", f.Trace);
                w.WriteString("replayHandle", f.ReplayHandle);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            // The class fingerprints, sorted, so that merging shards can count distinct classes across them.
            w.WriteStartArray("classes");
            foreach (var c in Classes.Order()) w.WriteStringValue(c.ToString("x16", CultureInfo.InvariantCulture));
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    internal void Save(string path)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir) Directory.CreateDirectory(dir);
        File.WriteAllText(path, ToJson());
    }

    internal static ExploreShardResult FromJson(string json, string source) => ResultFile.Read(json, source, FormatName, FormatVersion, root =>
    {
        var p = root.GetProperty("plan");
        var plan = new ExplorePlan(p.GetProperty("program").GetString()!, Enum.Parse<ExploreStrategy>(p.GetProperty("strategy").GetString()!),
            p.GetProperty("pctDepth").GetInt32(), p.GetProperty("declaredState").GetBoolean(), p.GetProperty("seed").GetUInt64(),
            p.GetProperty("maxSchedules").GetInt32(), p.GetProperty("shardCount").GetInt32());
        var shards = ResultFile.ReadShards(root.GetProperty("shards"), plan.ShardCount, source);
        var classes = root.GetProperty("classes").EnumerateArray().Select(e => ulong.Parse(e.GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToHashSet();
        if (classes.Count != root.GetProperty("classCount").GetInt32()) throw new InvalidDataException($"{source}: classCount does not match the classes listed.");
        return new ExploreShardResult
        {
            Plan = plan,
            Shards = shards,
            Schedules = root.GetProperty("schedules").GetInt32(),
            PrunedSchedules = root.GetProperty("prunedSchedules").GetInt32(),
            Classes = classes,
            Exhausted = root.GetProperty("exhausted").GetBoolean(),
            StopReasons = [.. root.GetProperty("stopReasons").EnumerateArray().Select(e => e.GetString()!)],
            Failures =
            [
                .. root.GetProperty("failures").EnumerateArray().Select(e => new ExploreFailure(
                    e.GetProperty("shard").GetInt32(), e.GetProperty("schedule").GetInt32(), e.GetProperty("strategy").GetString()!,
                    e.GetProperty("seed").GetUInt64(), e.GetProperty("oracle").GetString()!, e.GetProperty("message").GetString()!,
                    e.GetProperty("trace").GetString(), e.GetProperty("replayHandle").GetString()!)),
            ],
            ElapsedSeconds = root.GetProperty("elapsedSeconds").GetDouble(),
        };
    });

    /// <summary>The format tag of a result file: <see cref="FormatName"/>, <see cref="CampaignResult.FormatName"/>, or something else.</summary>
    internal static string? FormatOf(string json, string source) => ResultFile.FormatOf(json, source);

    internal static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
