using System.Collections;

namespace Asupersync.Http;

/// <summary>An ordered list of header fields with case-insensitive lookup. Duplicates are kept in order.</summary>
public sealed class HttpHeaders : IEnumerable<KeyValuePair<string, string>>
{
    private readonly List<KeyValuePair<string, string>> _fields = new();

    /// <summary>Number of fields.</summary>
    public int Count => _fields.Count;

    /// <summary>The first value of <paramref name="name"/>, or null.</summary>
    /// <param name="name">Field name (case-insensitive).</param>
    public string? this[string name]
    {
        get
        {
            foreach (var f in _fields)
            {
                if (string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase)) return f.Value;
            }
            return null;
        }
    }

    /// <summary>Appends a field.</summary>
    /// <param name="name">Field name.</param>
    /// <param name="value">Field value.</param>
    /// <returns>This, for chaining.</returns>
    public HttpHeaders Add(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        if (!HttpSyntax.IsToken(name)) throw new ArgumentException($"'{name}' is not a valid header name.", nameof(name));
        if (!HttpSyntax.IsFieldValue(value)) throw new ArgumentException("A header value must not contain CR, LF or other control characters.", nameof(value));
        _fields.Add(new(name, value));
        return this;
    }

    internal void AddUnchecked(string name, string value) => _fields.Add(new(name, value));

    /// <summary>Replaces every field named <paramref name="name"/> with one field.</summary>
    /// <param name="name">Field name.</param>
    /// <param name="value">Field value.</param>
    /// <returns>This, for chaining.</returns>
    public HttpHeaders Set(string name, string value)
    {
        Remove(name);
        return Add(name, value);
    }

    /// <summary>Removes every field named <paramref name="name"/>.</summary>
    /// <param name="name">Field name (case-insensitive).</param>
    /// <returns>How many were removed.</returns>
    public int Remove(string name) => _fields.RemoveAll(f => string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>How many fields are named <paramref name="name"/>.</summary>
    /// <param name="name">Field name (case-insensitive).</param>
    /// <returns>The count.</returns>
    public int CountOf(string name) => _fields.Count(f => string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Every value of <paramref name="name"/>, in order.</summary>
    /// <param name="name">Field name (case-insensitive).</param>
    /// <returns>The values.</returns>
    public IEnumerable<string> GetValues(string name) =>
        _fields.Where(f => string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase)).Select(f => f.Value);

    /// <summary>True when some value of <paramref name="name"/> contains the comma-separated token <paramref name="token"/>.</summary>
    /// <param name="name">Field name.</param>
    /// <param name="token">Token (case-insensitive).</param>
    /// <returns>Whether it is listed.</returns>
    public bool HasToken(string name, string token)
    {
        foreach (var v in GetValues(name))
        {
            foreach (var part in v.Split(','))
            {
                if (string.Equals(part.Trim(), token, StringComparison.OrdinalIgnoreCase)) return true;
            }
        }
        return false;
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _fields.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
