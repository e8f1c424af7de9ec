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
