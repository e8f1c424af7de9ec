namespace Asupersync.Http;

/// <summary>RFC 9110/9112 character classes and small helpers.</summary>
internal static class HttpSyntax
{
    internal static bool IsTokenChar(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    internal static bool IsToken(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty) return false;
        foreach (var b in s) if (!IsTokenChar(b)) return false;
        return true;
    }

    internal static bool IsToken(string s)
    {
        if (s.Length == 0) return false;
        foreach (var c in s) if (c > 0x7F || !IsTokenChar((byte)c)) return false;
        return true;
    }

    /// <summary>field-value bytes: HTAB, visible ASCII, SP and obs-text; no other control characters, no DEL.</summary>
    internal static bool IsFieldValueByte(byte b) => b == (byte)'\t' || (b >= 0x20 && b != 0x7F);

    internal static bool IsFieldValue(string s)
    {
        foreach (var c in s) if (c > 0xFF || !IsFieldValueByte((byte)c)) return false;
        return true;
    }

    /// <summary>
    /// A valid <c>Host</c> field value (RFC 9112 §3.2, RFC 3986 §3.2.2): <c>uri-host [ ":" port ]</c> with
    /// <c>uri-host = IP-literal / IPv4address / reg-name</c> and <c>port = *DIGIT</c>; empty is allowed (a target
    /// without an authority). No userinfo, path, whitespace or list.
    /// </summary>
    internal static bool IsValidHost(string s)
    {
        if (s.Length == 0) return true;
        int i;
        if (s[0] == '[')
        {
            int close = s.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) return false;
            var literal = s.AsSpan(1, close - 1);
            bool ok = literal.Length > 0 && (literal[0] is 'v' or 'V'
                ? IsIpvFuture(literal)
                : System.Net.IPAddress.TryParse(literal, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !literal.Contains('%'));
            if (!ok) return false;
            i = close + 1;
        }
        else
        {
            i = 0;
            while (i < s.Length && s[i] != ':')
            {
                char c = s[i];
                if (c == '%')
                {
                    if (i + 2 >= s.Length || !Uri.IsHexDigit(s[i + 1]) || !Uri.IsHexDigit(s[i + 2])) return false;
                    i += 3;
                    continue;
                }
                if (!IsUnreserved(c) && !IsSubDelim(c)) return false;
                i++;
            }
            if (i == 0) return false; // ":80" has no host
        }
        if (i == s.Length) return true;
        if (s[i] != ':') return false;
        for (int j = i + 1; j < s.Length; j++) if (!char.IsAsciiDigit(s[j])) return false;
        return true;
    }

    private static bool IsUnreserved(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~';

    private static bool IsSubDelim(char c) => c is '!' or '$' or '&' or '\'' or '(' or ')' or '*' or '+' or ',' or ';' or '=';

    /// <summary><c>"v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )</c>.</summary>
    private static bool IsIpvFuture(ReadOnlySpan<char> s)
    {
        int i = 1;
        while (i < s.Length && Uri.IsHexDigit(s[i])) i++;
        if (i == 1 || i >= s.Length - 1 || s[i] != '.') return false;
        for (i++; i < s.Length; i++) if (!IsUnreserved(s[i]) && !IsSubDelim(s[i]) && s[i] != ':') return false;
        return true;
    }

    /// <summary>
    /// Whether <paramref name="b"/> can begin a request (after optional empty lines): a method is a token. Anything
    /// else — a TLS ClientHello's 0x16, a NUL, a space — is not HTTP/1.x and is refused at once.
    /// </summary>
    internal static bool CanStartRequest(byte b) => b is (byte)'\r' or (byte)'\n' || IsTokenChar(b);

    internal static ReadOnlySpan<byte> TrimOws(ReadOnlySpan<byte> s)
    {
        int a = 0, b = s.Length;
        while (a < b && s[a] is (byte)' ' or (byte)'\t') a++;
        while (b > a && s[b - 1] is (byte)' ' or (byte)'\t') b--;
        return s[a..b];
    }

    internal static string Latin1(ReadOnlySpan<byte> s) => System.Text.Encoding.Latin1.GetString(s);

    internal static string ReasonPhrase(int status) => status switch
    {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Status " + status,
    };
}

/// <summary>A request the server refuses: answered with <see cref="Status"/> and the connection closed.</summary>
internal sealed class HttpProtocolException : Exception
{
    internal HttpProtocolException(int status, string message) : base(message) => Status = status;

    internal int Status { get; }
}
