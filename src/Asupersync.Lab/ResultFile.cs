using System.Text.Json;

namespace Asupersync.Lab;

/// <summary>
/// The reading rules every versioned JSON file of the Lab shares (traces, campaign results, the CLI's exploration
/// results): a <c>format</c> tag and a <c>version</c> checked first, shard indices that fit the shard count, shards
/// merged at most once each, and any malformed content reported as an <see cref="InvalidDataException"/> that names
/// the file (never a JSON or key exception escaping to the caller).
/// </summary>
internal static class ResultFile
{
    /// <summary>The <c>format</c> tag of a JSON file, or null when it has none.</summary>
    /// <exception cref="InvalidDataException">The text is not JSON.</exception>
    internal static string? FormatOf(string json, string source)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// Parses <paramref name="json"/>, checks its format tag and version, and reads it with <paramref name="read"/>;
    /// a missing or mistyped member anywhere becomes an <see cref="InvalidDataException"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">Not JSON, another format, another version, or malformed content.</exception>
    internal static T Read<T>(string json, string source, string format, int version, Func<JsonElement, T> read)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var f) || f.ValueKind != JsonValueKind.String || f.GetString() != format)
                throw new InvalidDataException($"{source} is not an {format} file (missing or different format tag).");
            int v = root.GetProperty("version").GetInt32();
            if (v != version)
                throw new InvalidDataException($"{source} has {format} format version {v}; this version of Asupersync.Lab reads version {version}.");
            return read(root);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException or OverflowException or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"{source} is not a valid {format} file: {e.Message}", e);
        }
    }

    /// <summary>Reads a non-empty array of shard indices, each in [0, <paramref name="count"/>).</summary>
    /// <exception cref="InvalidDataException">The count is below 1, the array is empty, or an index does not fit.</exception>
    internal static int[] ReadShards(JsonElement shards, int count, string source)
    {
        var list = shards.EnumerateArray().Select(e => e.GetInt32()).ToArray();
        if (count < 1 || list.Length == 0 || list.Any(s => s < 0 || s >= count))
            throw new InvalidDataException($"{source}: shard indices [{string.Join(",", list)}] do not fit {count} shards.");
        return list;
    }

    /// <summary>
    /// Checks that the results being merged hold each shard at most once (and, when <paramref name="requireAll"/>,
    /// every shard of <paramref name="count"/>); returns the shards held, in order.
    /// </summary>
    /// <exception cref="ArgumentException">A shard appears twice, or one is missing when all are required.</exception>
    internal static int[] CheckShards(IEnumerable<IReadOnlyList<int>> parts, int count, bool requireAll, string paramName)
    {
        var seen = new HashSet<int>();
        foreach (var i in parts.SelectMany(p => p))
        {
            if (!seen.Add(i)) throw new ArgumentException($"Shard {i}/{count} appears more than once.", paramName);
        }
        if (requireAll)
        {
            var missing = Enumerable.Range(0, count).Where(i => !seen.Contains(i)).ToList();
            if (missing.Count > 0)
                throw new ArgumentException($"Missing shard{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(i => $"{i}/{count}"))}: merge needs every shard.", paramName);
        }
        return [.. seen.Order()];
    }
}
