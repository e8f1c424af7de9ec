using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Asupersync.Sagas;

/// <summary>The on-disk format shared by every store: schema version, record checksums, the saga header.</summary>
internal static class SagaLogFormat
{
    /// <summary>The schema version this library writes and the newest it reads.</summary>
    internal const int SchemaVersion = 1;

    /// <summary>
    /// A 64-bit checksum of a record's fields (the first 8 bytes of SHA-256 over a canonical encoding). A changed,
    /// cut or swapped field does not match; it is a corruption check, not a security boundary.
    /// </summary>
    internal static long Checksum(string sagaId, long sequence, int transition, int step, string? data, long timeTicks)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"v{SchemaVersion}\n{sagaId.Length}:{sagaId}\n{sequence}\n{transition}\n{step}\n{timeTicks}\n{(data is null ? "-" : "+" + data.Length.ToString(CultureInfo.InvariantCulture) + ":" + data)}");
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return BinaryPrimitives.ReadInt64LittleEndian(hash);
    }

    /// <summary>The saga state a transition moves to, or null when it does not change the saga's state.</summary>
    internal static SagaState? StateAfter(SagaTransition t) => t switch
    {
        SagaTransition.SagaAborting or SagaTransition.SagaReopened => SagaState.Compensating,
        SagaTransition.SagaCompleted => SagaState.Completed,
        SagaTransition.SagaCompensated => SagaState.Compensated,
        SagaTransition.CompensationFailed => SagaState.CompensationFailed,
        _ => null,
    };

    internal static long Checksum(SagaLogRecord r) => Checksum(r.SagaId, r.Sequence, (int)r.Transition, r.Step, r.Data, r.Time.UtcTicks);

    /// <summary>Rebuilds a record read from storage, checking its checksum and fields; throws <see cref="SagaLogCorruptException"/>.</summary>
    internal static SagaLogRecord Decode(string sagaId, long sequence, long transition, long step, string? data, long timeTicks, long checksum, long version)
    {
        if (version > SchemaVersion)
            throw new SagaLogCorruptException(sagaId, sequence, $"the record was written in format version {version}, newer than this library's {SchemaVersion}");
        if (transition is < (int)SagaTransition.SagaStarted or > (int)SagaTransition.SagaReopened)
            throw new SagaLogCorruptException(sagaId, sequence, $"unknown transition code {transition}");
        if (step is < -1 or > int.MaxValue)
            throw new SagaLogCorruptException(sagaId, sequence, $"step index {step} is out of range");
        if (timeTicks < DateTimeOffset.MinValue.UtcTicks || timeTicks > DateTimeOffset.MaxValue.UtcTicks)
            throw new SagaLogCorruptException(sagaId, sequence, "the timestamp is out of range");
        if (Checksum(sagaId, sequence, (int)transition, (int)step, data, timeTicks) != checksum)
            throw new SagaLogCorruptException(sagaId, sequence, "checksum mismatch (the record was changed or cut short)");
        return new SagaLogRecord(sagaId, sequence, (SagaTransition)transition, (int)step, data, new DateTimeOffset(timeTicks, TimeSpan.Zero));
    }

    /// <summary>Checks that a saga's records, read in sequence order, are numbered 1..n without a gap or repeat.</summary>
    internal static IReadOnlyList<SagaLogRecord> CheckContiguous(string sagaId, List<SagaLogRecord> records)
    {
        for (int i = 0; i < records.Count; i++)
        {
            long expected = i + 1;
            if (records[i].Sequence != expected)
                throw new SagaLogCorruptException(sagaId, expected, records[i].Sequence > expected ? $"record {expected} is missing" : $"record {records[i].Sequence} appears twice");
        }
        return records;
    }

    internal static string EncodeHeader(Saga saga, string? input, SagaPlanning planning)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("v", SchemaVersion);
            w.WriteString("name", saga.Name);
            if (input is null) w.WriteNull("input");
            else w.WriteString("input", input);
            w.WriteString("plan", planning.ToString());
            w.WriteStartArray("steps");
            foreach (var s in saga.Steps)
            {
                w.WriteStartObject();
                w.WriteString("name", s.Name);
                w.WriteString("kind", s.Kind.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    internal static SagaHeader DecodeHeader(string sagaId, long sequence, string? data)
    {
        if (data is null) throw new SagaLogCorruptException(sagaId, sequence, "the saga header is missing");
        try
        {
            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            int v = root.GetProperty("v").GetInt32();
            if (v > SchemaVersion) throw new SagaLogCorruptException(sagaId, sequence, $"the saga header has format version {v}, newer than this library's {SchemaVersion}");
            var name = root.GetProperty("name").GetString() ?? throw new SagaLogCorruptException(sagaId, sequence, "the saga header has no name");
            var inputEl = root.GetProperty("input");
            string? input = inputEl.ValueKind == JsonValueKind.Null ? null : inputEl.GetString();
            var plan = Enum.Parse<SagaPlanning>(root.GetProperty("plan").GetString()!);
            var steps = new List<(string, SagaOpKind)>();
            foreach (var s in root.GetProperty("steps").EnumerateArray())
                steps.Add((s.GetProperty("name").GetString()!, Enum.Parse<SagaOpKind>(s.GetProperty("kind").GetString()!)));
            return new SagaHeader(name, input, plan, steps);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new SagaLogCorruptException(sagaId, sequence, "the saga header is unreadable: " + ex.Message);
        }
    }
}

/// <summary>What the first record of a saga's log says: which definition, which input, which steps.</summary>
internal sealed record SagaHeader(string Name, string? Input, SagaPlanning Planning, IReadOnlyList<(string Name, SagaOpKind Kind)> Steps)
{
    /// <summary>Checks that <paramref name="saga"/> is the definition this log was written for.</summary>
    internal void Match(string sagaId, Saga saga)
    {
        if (saga.Name != Name) throw new SagaDefinitionMismatchException(sagaId, $"the log is for saga '{Name}', not '{saga.Name}'");
        if (saga.Steps.Count != Steps.Count)
            throw new SagaDefinitionMismatchException(sagaId, $"the log recorded {Steps.Count} steps for '{Name}', the registered definition has {saga.Steps.Count}");
        for (int i = 0; i < Steps.Count; i++)
        {
            if (saga.Steps[i].Name != Steps[i].Name || saga.Steps[i].Kind != Steps[i].Kind)
                throw new SagaDefinitionMismatchException(sagaId, $"step {i} was recorded as '{Steps[i].Name}' ({Steps[i].Kind}), the registered definition has '{saga.Steps[i].Name}' ({saga.Steps[i].Kind})");
        }
    }
}
