using System.Globalization;
using System.Text;

namespace Asupersync.Lab;

/// <summary>
/// A replay handle: one line that names a run exactly — its seed and every scheduling decision — whatever strategy
/// produced it (random, PCT, DPOR, exhaustive, portfolio). <c>lab2:&lt;seed&gt;:&lt;decisions&gt;</c>, the decisions
/// being the chosen processes in order (task ids in base 36, <c>c</c> for the virtual clock), dot-separated.
/// </summary>
internal static class ReplayHandle
{
    internal const string Prefix = "lab2:";

    internal static string Format(ulong seed, IReadOnlyList<long> decisions)
    {
        var sb = new StringBuilder(Prefix.Length + 24 + decisions.Count * 3);
        sb.Append(Prefix).Append(seed.ToString(CultureInfo.InvariantCulture)).Append(':');
        for (int i = 0; i < decisions.Count; i++)
        {
            if (i > 0) sb.Append('.');
            long d = decisions[i];
            if (d == LabRun.ClockProcess) sb.Append('c');
            else AppendBase36(sb, d);
        }
        return sb.ToString();
    }

    internal static (ulong Seed, long[] Decisions) Parse(string handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        handle = handle.Trim();
        if (!handle.StartsWith(Prefix, StringComparison.Ordinal))
            throw new FormatException($"not a Lab replay handle (expected '{Prefix}<seed>:<decisions>'): '{Shorten(handle)}'");
        int colon = handle.IndexOf(':', Prefix.Length);
        if (colon < 0 || !ulong.TryParse(handle.AsSpan(Prefix.Length, colon - Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var seed))
            throw new FormatException($"a Lab replay handle needs a decimal seed after '{Prefix}': '{Shorten(handle)}'");
        var body = handle.AsSpan(colon + 1);
        var decisions = new List<long>();
        foreach (var range in body.Split('.'))
        {
            var part = body[range];
            if (part.IsEmpty)
            {
                if (body.IsEmpty) break;
                throw new FormatException("a Lab replay handle has an empty decision");
            }
            decisions.Add(part is "c" ? LabRun.ClockProcess : ParseBase36(part));
        }
        return (seed, decisions.ToArray());
    }

    private static void AppendBase36(StringBuilder sb, long v)
    {
        if (v < 0) throw new ArgumentOutOfRangeException(nameof(v));
        Span<char> buf = stackalloc char[16];
        int n = 0;
        do
        {
            int digit = (int)(v % 36);
            buf[n++] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
            v /= 36;
        }
        while (v > 0);
        for (int i = n - 1; i >= 0; i--) sb.Append(buf[i]);
    }

    private static long ParseBase36(ReadOnlySpan<char> s)
    {
        long v = 0;
        foreach (char c in s)
        {
            int digit = c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'z' ? c - 'a' + 10 : -1;
            if (digit < 0 || v > (long.MaxValue - digit) / 36) throw new FormatException($"a Lab replay handle has a bad decision '{s.ToString()}'");
            v = v * 36 + digit;
        }
        return v;
    }

    private static string Shorten(string s) => s.Length > 60 ? s[..60] + "…" : s;
}
