namespace Asupersync.Macaroons.Formats;

/// <summary>Base64 as the macaroon libraries write it (URL-safe, no padding) and read it (either alphabet, padding optional).</summary>
internal static class Base64Url
{
    internal static string Encode(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    /// <summary>Decodes standard or URL-safe base64 with or without padding; null when it is not base64.</summary>
    internal static byte[]? TryDecode(string text)
    {
        if (text.Length == 0) return [];
        // Normalise to the URL-safe alphabet without padding; refuse a mix of alphabets or padding in the middle.
        var chars = text.AsSpan();
        int end = chars.Length;
        int pad = 0;
        while (end > 0 && chars[end - 1] == '=') { end--; pad++; }
        if (pad > 2 || (pad > 0 && (end + pad) % 4 != 0)) return null;
        bool std = false, url = false;
        Span<char> norm = end <= 4096 ? stackalloc char[end] : new char[end];
        for (int i = 0; i < end; i++)
        {
            char c = chars[i];
            if (c is '+' or '/') { std = true; norm[i] = c == '+' ? '-' : '_'; }
            else if (c is '-' or '_') { url = true; norm[i] = c; }
            else if (c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9')) norm[i] = c;
            else return null;
        }
        if (std && url) return null;
        if (end % 4 == 1) return null;
        var output = new byte[System.Buffers.Text.Base64Url.GetMaxDecodedLength(end)];
        int written;
        try
        {
            if (!System.Buffers.Text.Base64Url.TryDecodeFromChars(norm, output, out written)) return null;
        }
        catch (FormatException)
        {
            return null; // the decoder throws (rather than returning false) on some malformed final quanta
        }
        return written == output.Length ? output : output.AsSpan(0, written).ToArray();
    }
}
