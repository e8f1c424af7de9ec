namespace Asupersync.Macaroons;

/// <summary>
/// Resource names and the globs of <c>resource-scope</c> caveats. A resource name is a <c>:</c>-separated path such as
/// <c>net:connect:127.0.0.1:5432</c>, <c>net:bind:0.0.0.0:8080</c>, <c>http:GET:/orders/42</c> or an application's
/// own <c>app:reports:2026</c>. In a glob, <c>*</c> matches any run of characters other than <c>/</c> and <c>:</c>
/// (one segment), <c>**</c> matches any run including them, <c>?</c> one character other than <c>/</c> and <c>:</c>;
/// everything else matches itself (case-sensitive). Matching is linear-time (no backtracking blow-up).
/// </summary>
public static class ResourceGlob
{
    /// <summary>The longest glob or resource name considered.</summary>
    public const int MaxLength = 1024;

    /// <summary>Whether <paramref name="glob"/> is a valid glob: non-empty, at most <see cref="MaxLength"/> characters, no whitespace or control characters.</summary>
    /// <param name="glob">The glob.</param>
    /// <returns>True when valid.</returns>
    public static bool IsValid(string? glob)
    {
        if (string.IsNullOrEmpty(glob) || glob.Length > MaxLength) return false;
        foreach (char c in glob)
            if (char.IsWhiteSpace(c) || char.IsControl(c)) return false;
        return true;
    }

    internal static void Validate(string glob)
    {
        ArgumentNullException.ThrowIfNull(glob);
        if (!IsValid(glob)) throw new ArgumentException($"'{glob}' is not a resource glob (non-empty, at most {MaxLength} characters, no whitespace).", nameof(glob));
    }

    /// <summary>Whether <paramref name="resource"/> matches <paramref name="glob"/>.</summary>
    /// <param name="glob">The glob.</param>
    /// <param name="resource">The resource name.</param>
    /// <returns>True when it matches.</returns>
    public static bool Matches(string glob, string resource)
    {
        ArgumentNullException.ThrowIfNull(glob);
        ArgumentNullException.ThrowIfNull(resource);
        if (glob.Length > MaxLength || resource.Length > MaxLength) return false;
        // Dynamic programming over glob positions (a set of live states per input character): O(|glob|·|resource|).
        int n = glob.Length;
        Span<bool> cur = n + 1 <= 512 ? stackalloc bool[n + 1] : new bool[n + 1];
        Span<bool> next = n + 1 <= 512 ? stackalloc bool[n + 1] : new bool[n + 1];
        cur.Clear();
        cur[0] = true;
        Close(glob, cur);
        foreach (char ch in resource)
        {
            next.Clear();
            bool any = false;
            for (int i = 0; i < n; i++)
            {
                if (!cur[i]) continue;
                char g = glob[i];
                if (g == '*')
                {
                    bool dbl = i + 1 < n && glob[i + 1] == '*';
                    if (dbl || !IsSeparator(ch)) { next[i] = true; any = true; }
                    // a double star is consumed as one token: its second '*' is handled via the closure
                }
                else if (g == '?')
                {
                    if (!IsSeparator(ch)) { next[i + 1] = true; any = true; }
                }
                else if (g == ch)
                {
                    next[i + 1] = true;
                    any = true;
                }
            }
            if (!any) return false;
            Close(glob, next);
            var t = cur;
            cur = next;
            next = t;
        }
        return cur[n];
    }

    // Epsilon closure: a star (single or double) may match the empty string.
    private static void Close(string glob, Span<bool> states)
    {
        for (int i = 0; i < glob.Length; i++)
        {
            if (!states[i] || glob[i] != '*') continue;
            if (i + 1 < glob.Length && glob[i + 1] == '*')
            {
                states[i + 2 <= glob.Length ? i + 2 : glob.Length] = true;
            }
            else
            {
                states[i + 1] = true;
            }
        }
    }

    private static bool IsSeparator(char c) => c is '/' or ':';
}
