using System.Globalization;

namespace Asupersync.Macaroons;

/// <summary>
/// The built-in first-party caveat predicates. Each has one canonical textual form, which is what the token carries
/// as the caveat id (so tokens stay readable and interoperable: pymacaroons sees ordinary first-party caveats):
/// <list type="table">
/// <item><term><c>time-before 2026-12-31T00:00:00Z</c></term><description>now &lt; t (runtime clock, UTC)</description></item>
/// <item><term><c>time-after 2026-01-01T00:00:00Z</c></term><description>now &gt; t</description></item>
/// <item><term><c>region-scope 12</c></term><description>the acting task's region is region 12 or a descendant of it</description></item>
/// <item><term><c>task-scope 7</c></term><description>the acting task is task 7</description></item>
/// <item><term><c>max-uses 5</c></term><description>at most 5 authorized uses (counted by the runtime)</description></item>
/// <item><term><c>resource-scope http:GET:/orders/*</c></term><description>the operation's resource name matches the glob</description></item>
/// <item><term><c>rate-limit 10/1m</c></term><description>at most 10 uses per aligned window of 1 minute</description></item>
/// <item><term><c>tenant = acme</c></term><description>custom: an application checker for key <c>tenant</c> decides</description></item>
/// </list>
/// Text that is not exactly a canonical form (extra spaces, <c>max-uses 05</c>) is not a built-in predicate; a
/// verifier without a checker for it denies it (fail closed).
/// </summary>
public abstract record Caveat
{
    private protected Caveat()
    {
    }

    /// <summary>The canonical textual form (the caveat id in the token).</summary>
    /// <returns>The text.</returns>
    public abstract override string ToString();

    /// <summary>now &lt; <paramref name="deadline"/> on the runtime clock.</summary>
    /// <param name="deadline">The instant (converted to UTC; sub-tick precision is not kept).</param>
    /// <returns>The caveat.</returns>
    public static TimeBeforeCaveat TimeBefore(DateTimeOffset deadline) => new(deadline.ToUniversalTime());

    /// <summary>now &gt; <paramref name="start"/> on the runtime clock.</summary>
    /// <param name="start">The instant.</param>
    /// <returns>The caveat.</returns>
    public static TimeAfterCaveat TimeAfter(DateTimeOffset start) => new(start.ToUniversalTime());

    /// <summary>The acting task runs in region <paramref name="regionId"/> or in a region nested inside it.</summary>
    /// <param name="regionId">The region's id (<see cref="Cx.RegionId"/>; ids are meaningful within one runtime).</param>
    /// <returns>The caveat.</returns>
    public static RegionScopeCaveat RegionScope(long regionId) => new(regionId);

    /// <summary>The acting task is task <paramref name="taskId"/> (<see cref="Cx.TaskId"/>).</summary>
    /// <param name="taskId">The task's id.</param>
    /// <returns>The caveat.</returns>
    public static TaskScopeCaveat TaskScope(long taskId) => new(taskId);

    /// <summary>At most <paramref name="count"/> authorized uses of this token and of every token derived from it.</summary>
    /// <param name="count">The number of uses (zero: never usable).</param>
    /// <returns>The caveat.</returns>
    public static MaxUsesCaveat MaxUses(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return new MaxUsesCaveat(count);
    }

    /// <summary>The operation's resource name matches one of <paramref name="globs"/> (see <see cref="ResourceGlob"/>).</summary>
    /// <param name="globs">For example <c>net:connect:db.internal:5432</c>, <c>http:GET:/orders/*</c>, <c>app:reports:**</c>; several globs are alternatives (the text form lists them separated by spaces).</param>
    /// <returns>The caveat.</returns>
    public static ResourceScopeCaveat ResourceScope(params string[] globs)
    {
        ArgumentNullException.ThrowIfNull(globs);
        if (globs.Length == 0) throw new ArgumentException("At least one glob.", nameof(globs));
        foreach (var g in globs) ResourceGlob.Validate(g);
        return new ResourceScopeCaveat(string.Join(' ', globs));
    }

    /// <summary>At most <paramref name="count"/> authorized uses per aligned window of length <paramref name="window"/> (windows [k·w, (k+1)·w) of the runtime's UTC clock).</summary>
    /// <param name="count">Uses per window (at least 1).</param>
    /// <param name="window">The window: a whole number of milliseconds, at least 1 ms.</param>
    /// <returns>The caveat.</returns>
    public static RateLimitCaveat RateLimit(int count, TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (window < TimeSpan.FromMilliseconds(1) || window.Ticks % TimeSpan.TicksPerMillisecond != 0)
            throw new ArgumentOutOfRangeException(nameof(window), "A rate-limit window is a whole number of milliseconds, at least 1 ms.");
        return new RateLimitCaveat(count, window);
    }

    /// <summary>An application predicate <c>key = value</c>, decided by the checker registered for <paramref name="key"/> (<see cref="MacaroonVerifier.AddCustom"/>).</summary>
    /// <param name="key">A name: a letter or <c>_</c>, then letters, digits, <c>_ . -</c>; not one of the built-in keywords.</param>
    /// <param name="value">The value: non-empty, no control characters, no leading or trailing space.</param>
    /// <returns>The caveat.</returns>
    public static CustomCaveat Custom(string key, string value)
    {
        if (!CustomCaveat.IsValidKey(key)) throw new ArgumentException($"'{key}' is not a custom caveat key (a letter or '_', then letters, digits, '_', '.', '-'; not a built-in keyword).", nameof(key));
        if (!CustomCaveat.IsValidValue(value)) throw new ArgumentException("A custom caveat value is non-empty, has no control characters and no surrounding spaces.", nameof(value));
        return new CustomCaveat(key, value);
    }

    /// <summary>Parses the canonical textual form of a built-in predicate.</summary>
    /// <param name="text">The caveat text.</param>
    /// <param name="caveat">The predicate, or null.</param>
    /// <returns>True when <paramref name="text"/> is exactly the canonical form of a built-in predicate.</returns>
    public static bool TryParse(string text, out Caveat? caveat)
    {
        caveat = null;
        if (string.IsNullOrEmpty(text) || text.Length > 4096) return false;
        Caveat? c = null;
        int space = text.IndexOf(' ', StringComparison.Ordinal);
        if (space > 0)
        {
            var word = text.AsSpan(0, space);
            var arg = text[(space + 1)..];
            c = word switch
            {
                "time-before" => ParseTime(arg) is { } t ? new TimeBeforeCaveat(t) : null,
                "time-after" => ParseTime(arg) is { } t2 ? new TimeAfterCaveat(t2) : null,
                "region-scope" => ParseId(arg) is { } r ? new RegionScopeCaveat(r) : null,
                "task-scope" => ParseId(arg) is { } k ? new TaskScopeCaveat(k) : null,
                "max-uses" => ParseId(arg) is { } n ? new MaxUsesCaveat(n) : null,
                "resource-scope" => ResourceScopeCaveat.IsValidPattern(arg) ? new ResourceScopeCaveat(arg) : null,
                "rate-limit" => RateLimitCaveat.TryParseArgument(arg),
                _ => null,
            };
            if (c is null && !CustomCaveat.IsKeyword(word))
            {
                // key = value
                if (arg.StartsWith("= ", StringComparison.Ordinal) && CustomCaveat.IsValidKey(text[..space]) && CustomCaveat.IsValidValue(arg[2..]))
                    c = new CustomCaveat(text[..space], arg[2..]);
            }
        }
        // Canonical form only: the text must be exactly what the predicate prints.
        if (c is null || !string.Equals(c.ToString(), text, StringComparison.Ordinal)) return false;
        caveat = c;
        return true;
    }

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";

    internal static string FormatTime(DateTimeOffset t) => t.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    private static DateTimeOffset? ParseTime(string s) =>
        DateTime.TryParseExact(s, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d)
            ? new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc))
            : null;

    private static long? ParseId(string s) =>
        s.Length is > 0 and <= 19 && s.All(char.IsAsciiDigit) && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
}

/// <summary><c>time-before t</c>: holds while the runtime clock is before <see cref="Deadline"/>.</summary>
/// <param name="Deadline">The instant (UTC).</param>
public sealed record TimeBeforeCaveat(DateTimeOffset Deadline) : Caveat
{
    /// <inheritdoc />
    public override string ToString() => "time-before " + FormatTime(Deadline);
}

/// <summary><c>time-after t</c>: holds once the runtime clock is past <see cref="Start"/>.</summary>
/// <param name="Start">The instant (UTC).</param>
public sealed record TimeAfterCaveat(DateTimeOffset Start) : Caveat
{
    /// <inheritdoc />
    public override string ToString() => "time-after " + FormatTime(Start);
}

/// <summary><c>region-scope id</c>: holds for a task of region <see cref="RegionId"/> or of a region nested in it.</summary>
/// <param name="RegionId">The region id.</param>
public sealed record RegionScopeCaveat(long RegionId) : Caveat
{
    /// <inheritdoc />
    public override string ToString() => "region-scope " + RegionId.ToString(CultureInfo.InvariantCulture);
}

/// <summary><c>task-scope id</c>: holds for task <see cref="TaskId"/> only.</summary>
/// <param name="TaskId">The task id.</param>
public sealed record TaskScopeCaveat(long TaskId) : Caveat
{
    /// <inheritdoc />
    public override string ToString() => "task-scope " + TaskId.ToString(CultureInfo.InvariantCulture);
}

/// <summary><c>max-uses n</c>: at most <see cref="Count"/> authorized uses, counted by the verifier's <see cref="UseLedger"/>.</summary>
/// <param name="Count">The number of uses.</param>
public sealed record MaxUsesCaveat(long Count) : Caveat
{
    /// <inheritdoc />
    public override string ToString() => "max-uses " + Count.ToString(CultureInfo.InvariantCulture);
}

/// <summary><c>resource-scope glob [glob…]</c>: the operation's resource name matches one of the globs of <see cref="Pattern"/>.</summary>
/// <param name="Pattern">One or more globs (see <see cref="ResourceGlob"/>) separated by single spaces.</param>
public sealed record ResourceScopeCaveat(string Pattern) : Caveat
{
    /// <summary>The alternative globs.</summary>
    public IReadOnlyList<string> Globs => Pattern.Split(' ');

    /// <summary>Whether <paramref name="resource"/> matches one of the globs.</summary>
    /// <param name="resource">The resource name.</param>
    /// <returns>True when it matches.</returns>
    public bool Matches(string resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        int start = 0;
        while (start <= Pattern.Length)
        {
            int end = Pattern.IndexOf(' ', start);
            if (end < 0) end = Pattern.Length;
            if (ResourceGlob.Matches(Pattern[start..end], resource)) return true;
            start = end + 1;
        }
        return false;
    }

    internal static bool IsValidPattern(string pattern) =>
        pattern.Length is > 0 and <= 4 * ResourceGlob.MaxLength && pattern.Split(' ').All(ResourceGlob.IsValid);

    /// <inheritdoc />
    public override string ToString() => "resource-scope " + Pattern;
}

/// <summary><c>rate-limit n/window</c>: at most <see cref="Count"/> uses per aligned <see cref="Window"/>.</summary>
/// <param name="Count">Uses per window.</param>
/// <param name="Window">The window length.</param>
public sealed record RateLimitCaveat(int Count, TimeSpan Window) : Caveat
{
    private static readonly (string Unit, long Ms)[] s_units = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)];

    /// <inheritdoc />
    public override string ToString()
    {
        long ms = Window.Ticks / TimeSpan.TicksPerMillisecond;
        foreach (var (unit, size) in s_units)
            if (ms % size == 0) return $"rate-limit {Count.ToString(CultureInfo.InvariantCulture)}/{(ms / size).ToString(CultureInfo.InvariantCulture)}{unit}";
        return $"rate-limit {Count.ToString(CultureInfo.InvariantCulture)}/{ms.ToString(CultureInfo.InvariantCulture)}ms";
    }

    internal static RateLimitCaveat? TryParseArgument(string arg)
    {
        int slash = arg.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0) return null;
        var countText = arg.AsSpan(0, slash);
        var windowText = arg.AsSpan(slash + 1);
        if (countText.Length > 10 || !int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count <= 0) return null;
        int digits = 0;
        while (digits < windowText.Length && char.IsAsciiDigit(windowText[digits])) digits++;
        if (digits == 0 || digits > 12) return null;
        long n = long.Parse(windowText[..digits], NumberStyles.None, CultureInfo.InvariantCulture);
        var unit = windowText[digits..];
        long size = 0;
        foreach (var (u, s) in s_units)
            if (unit.SequenceEqual(u)) size = s;
        if (size == 0 || n <= 0 || n > long.MaxValue / size / TimeSpan.TicksPerMillisecond) return null;
        return new RateLimitCaveat(count, TimeSpan.FromTicks(n * size * TimeSpan.TicksPerMillisecond));
    }
}

/// <summary><c>key = value</c>: an application predicate, decided by the checker registered for <see cref="Key"/>.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">The value.</param>
public sealed record CustomCaveat(string Key, string Value) : Caveat
{
    private static readonly string[] s_keywords = ["time-before", "time-after", "region-scope", "task-scope", "max-uses", "resource-scope", "rate-limit"];

    /// <inheritdoc />
    public override string ToString() => Key + " = " + Value;

    internal static bool IsKeyword(ReadOnlySpan<char> word)
    {
        foreach (var k in s_keywords)
            if (word.SequenceEqual(k)) return true;
        return false;
    }

    internal static bool IsValidKey(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 128 || IsKeyword(key)) return false;
        if (!(char.IsAsciiLetter(key[0]) || key[0] == '_')) return false;
        foreach (char c in key)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')) return false;
        return true;
    }

    internal static bool IsValidValue(string? value)
    {
        if (string.IsNullOrEmpty(value) || value[0] == ' ' || value[^1] == ' ') return false;
        foreach (char c in value)
            if (char.IsControl(c)) return false;
        return true;
    }
}
