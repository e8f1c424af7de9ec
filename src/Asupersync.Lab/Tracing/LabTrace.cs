using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Asupersync.Lab.Chaos;

namespace Asupersync.Lab;

/// <summary>
/// The record of one Lab run: its seed and settings, every scheduling decision, every kernel event, the names of
/// tasks and regions, and the oracle failures. Saves to a versioned JSON file with a SHA-256 integrity hash and
/// replays from it (<see cref="LabRuntime.Replay(LabTrace, Func{Cx, Task}, LabOptions?)"/>).
/// </summary>
public sealed class LabTrace
{
    /// <summary>The file format tag.</summary>
    public const string Format = "asupersync-lab-trace";

    /// <summary>The current file format version.</summary>
    public const int FormatVersion = 1;

    internal LabTrace(ulong seed, string strategy, string? programName, int maxSteps, ChaosOptions chaos,
        IReadOnlyList<long> decisions, IReadOnlyList<LabEvent> events, IReadOnlyDictionary<long, string> names, IReadOnlyList<LabFailure> failures)
    {
        Seed = seed;
        Strategy = strategy;
        ProgramName = programName;
        MaxSteps = maxSteps;
        Chaos = chaos;
        Decisions = decisions;
        Events = events;
        Names = names;
        Failures = failures;
    }

    /// <summary>The run's seed (entropy and chaos streams; the schedule is in <see cref="Decisions"/>).</summary>
    public ulong Seed { get; }

    /// <summary>The strategy that produced the schedule (random, pct, dpor, exhaustive, replay).</summary>
    public string Strategy { get; }

    /// <summary>The program's name, if the run was given one.</summary>
    public string? ProgramName { get; }

    /// <summary>The step bound of the run.</summary>
    public int MaxSteps { get; }

    /// <summary>The chaos settings of the run.</summary>
    public ChaosOptions Chaos { get; }

    /// <summary>The process chosen at each step: a task id, or -1 for the virtual clock.</summary>
    public IReadOnlyList<long> Decisions { get; }

    /// <summary>Every recorded event, in order.</summary>
    public IReadOnlyList<LabEvent> Events { get; }

    /// <summary>Task and region names by id.</summary>
    public IReadOnlyDictionary<long, string> Names { get; }

    /// <summary>What the oracles reported.</summary>
    public IReadOnlyList<LabFailure> Failures { get; }

    /// <summary>A 64-bit hash of the decisions and events: equal traces have equal hashes.</summary>
    public ulong Hash
    {
        get
        {
            ulong h = 0xcbf29ce484222325UL;
            foreach (var d in Decisions) h = MixIn(h, (ulong)d);
            foreach (var e in Events)
            {
                h = MixIn(h, (ulong)e.Step);
                h = MixIn(h, (ulong)e.Kind);
                h = MixIn(h, (ulong)e.TaskId);
                h = MixIn(h, (ulong)e.ObjectId);
                h = MixIn(h, (ulong)e.Aux);
                h = MixIn(h, (ulong)e.Extra);
                h = MixIn(h, (ulong)e.Code);
                h = MixIn(h, (ulong)e.Time.Ticks);
                if (e.Text is not null) foreach (char c in e.Text) h = MixIn(h, c);
            }
            return h;
        }
    }

    private static ulong MixIn(ulong h, ulong v) => SplitMix64.Mix(h ^ v) * 0x100000001b3UL;

    /// <summary>True when both traces have the same decisions and the same events.</summary>
    /// <param name="other">The other trace.</param>
    /// <returns>Whether they are identical.</returns>
    public bool SameAs(LabTrace other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Decisions.SequenceEqual(other.Decisions) && Events.SequenceEqual(other.Events);
    }

    /// <summary>The name of a task or region id, or null.</summary>
    /// <param name="id">An id.</param>
    /// <returns>The name.</returns>
    public string? NameOf(long id) => Names.TryGetValue(id, out var n) ? n : null;

    /// <summary>
    /// Renders the trace as a self-contained HTML timeline: tasks as lanes over the steps, cancel phases coloured,
    /// the virtual clock's firings and time advances marked, failing steps marked in red.
    /// </summary>
    /// <param name="title">The page title (default: the program name).</param>
    /// <returns>The HTML document.</returns>
    public string ToHtml(string? title = null) => TraceHtml.Render(this, title);

    /// <summary>Writes <see cref="ToHtml"/> to <paramref name="path"/>.</summary>
    /// <param name="path">The file path.</param>
    /// <param name="title">The page title.</param>
    public void SaveHtml(string path, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, ToHtml(title));
    }

    // ------------------------------------------------------------------ JSON

    /// <summary>Writes the trace as JSON: <c>{"format", "version", "sha256", "payload"}</c>, the hash covering the payload's bytes.</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        var payload = WritePayload();
        var hash = Convert.ToHexStringLower(SHA256.HashData(payload));
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("version", FormatVersion);
            w.WriteString("sha256", hash);
            w.WritePropertyName("payload");
            w.WriteRawValue(payload, skipInputValidation: true);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Saves the trace to <paramref name="path"/> (creating the directory).</summary>
    /// <param name="path">The file path.</param>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, ToJson());
    }

    /// <summary>Loads a trace saved by <see cref="Save"/>.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The trace.</returns>
    /// <exception cref="InvalidDataException">Not a trace, an unknown version, or the integrity hash does not match.</exception>
    public static LabTrace Load(string path) => FromJson(File.ReadAllText(path));

    /// <summary>Parses a trace written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The trace.</returns>
    /// <exception cref="InvalidDataException">Not JSON, not a trace, an unknown version, malformed content, or the integrity hash does not match.</exception>
    public static LabTrace FromJson(string json) => ResultFile.Read(json, "Lab trace", Format, FormatVersion, root =>
    {
        var payloadElement = root.GetProperty("payload");
        var raw = Encoding.UTF8.GetBytes(payloadElement.GetRawText());
        var expected = root.GetProperty("sha256").GetString();
        var actual = Convert.ToHexStringLower(SHA256.HashData(raw));
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
            throw new InvalidDataException($"Lab trace integrity check failed: the payload's SHA-256 is {actual}, the file says {expected}. The file was modified or truncated.");
        return ReadPayload(payloadElement);
    });

    private byte[] WritePayload()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("seed", Seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("strategy", Strategy);
            if (ProgramName is not null) w.WriteString("program", ProgramName);
            w.WriteNumber("maxSteps", MaxSteps);
            w.WriteStartObject("chaos");
            w.WriteString("name", Chaos.Name);
            w.WriteNumber("cancelProbability", Chaos.CancelProbability);
            w.WriteNumber("delayProbability", Chaos.DelayProbability);
            w.WriteNumber("maxDelayTicks", Chaos.MaxDelay.Ticks);
            w.WriteBoolean("cancelRootTask", Chaos.CancelRootTask);
            if (Chaos.HasIoFaults)
            {
                w.WriteStartObject("io");
                w.WriteNumber("reset", Chaos.ResetProbability);
                w.WriteNumber("shortRead", Chaos.ShortReadProbability);
                w.WriteNumber("shortWrite", Chaos.ShortWriteProbability);
                w.WriteNumber("acceptFailure", Chaos.AcceptFailureProbability);
                w.WriteNumber("refuse", Chaos.RefuseProbability);
                w.WriteNumber("connectTimeout", Chaos.ConnectTimeoutProbability);
                w.WriteNumber("ioOp", Chaos.IoOpFailureProbability);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartArray("decisions");
            foreach (var d in Decisions) w.WriteNumberValue(d);
            w.WriteEndArray();
            w.WriteStartObject("names");
            foreach (var (id, name) in Names.OrderBy(kv => kv.Key)) w.WriteString(id.ToString(System.Globalization.CultureInfo.InvariantCulture), name);
            w.WriteEndObject();
            w.WriteStartArray("failures");
            foreach (var fl in Failures)
            {
                w.WriteStartObject();
                w.WriteString("oracle", fl.Oracle);
                w.WriteString("message", fl.Message);
                w.WriteNumber("step", fl.Step);
                w.WriteStartArray("objects");
                foreach (var o in fl.Objects) w.WriteNumberValue(o);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            // Events as compact arrays: [step, kind, task, object, aux, extra, code, timeTicks, text].
            w.WriteStartArray("events");
            foreach (var e in Events)
            {
                w.WriteStartArray();
                w.WriteNumberValue(e.Step);
                w.WriteStringValue(e.Kind.ToString());
                w.WriteNumberValue(e.TaskId);
                w.WriteNumberValue(e.ObjectId);
                w.WriteNumberValue(e.Aux);
                w.WriteNumberValue(e.Extra);
                w.WriteNumberValue(e.Code);
                w.WriteNumberValue(e.Time.Ticks);
                if (e.Text is null) w.WriteNullValue();
                else w.WriteStringValue(e.Text);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    private static LabTrace ReadPayload(JsonElement p)
    {
        ulong seed = ulong.Parse(p.GetProperty("seed").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var c = p.GetProperty("chaos");
        var chaos = new ChaosOptions(c.GetProperty("name").GetString()!, c.GetProperty("cancelProbability").GetDouble(),
            c.GetProperty("delayProbability").GetDouble(), TimeSpan.FromTicks(c.GetProperty("maxDelayTicks").GetInt64()), c.GetProperty("cancelRootTask").GetBoolean());
        if (c.TryGetProperty("io", out var io))
        {
            chaos = chaos with
            {
                ResetProbability = io.GetProperty("reset").GetDouble(),
                ShortReadProbability = io.GetProperty("shortRead").GetDouble(),
                ShortWriteProbability = io.GetProperty("shortWrite").GetDouble(),
                AcceptFailureProbability = io.GetProperty("acceptFailure").GetDouble(),
                RefuseProbability = io.GetProperty("refuse").GetDouble(),
                ConnectTimeoutProbability = io.GetProperty("connectTimeout").GetDouble(),
                IoOpFailureProbability = io.TryGetProperty("ioOp", out var ioOp) ? ioOp.GetDouble() : 0,
            };
        }
        var decisions = p.GetProperty("decisions").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        var names = new Dictionary<long, string>();
        foreach (var prop in p.GetProperty("names").EnumerateObject())
            names[long.Parse(prop.Name, System.Globalization.CultureInfo.InvariantCulture)] = prop.Value.GetString()!;
        var failures = p.GetProperty("failures").EnumerateArray().Select(x => new LabFailure(
            x.GetProperty("oracle").GetString()!, x.GetProperty("message").GetString()!, x.GetProperty("step").GetInt32(),
            x.GetProperty("objects").EnumerateArray().Select(o => o.GetInt64()).ToArray())).ToArray();
        var events = p.GetProperty("events").EnumerateArray().Select(a =>
        {
            var arr = a.EnumerateArray().ToArray();
            return new LabEvent(arr[0].GetInt32(), Enum.Parse<LabEventKind>(arr[1].GetString()!), arr[2].GetInt64(), arr[3].GetInt64(), arr[4].GetInt64(),
                arr[5].GetInt64(), arr[6].GetInt32(), TimeSpan.FromTicks(arr[7].GetInt64()), arr[8].ValueKind == JsonValueKind.Null ? null : arr[8].GetString());
        }).ToArray();
        return new LabTrace(seed, p.GetProperty("strategy").GetString()!, p.TryGetProperty("program", out var prog) ? prog.GetString() : null,
            p.GetProperty("maxSteps").GetInt32(), chaos, decisions, events, names, failures);
    }
}
