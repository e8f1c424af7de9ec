namespace Asupersync.Macaroons.Formats;

/// <summary>Format detection and the limits every parser enforces (a token is small; bigger input is refused early).</summary>
internal static class MacaroonParser
{
    /// <summary>The longest serialized token accepted (characters of text, or bytes of binary).</summary>
    internal const int MaxTokenLength = 64 * 1024;

    /// <summary>The most caveats a token may have.</summary>
    internal const int MaxCaveats = 1024;

    internal static Macaroon Parse(string text, out MacaroonFormat format)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) throw new MacaroonFormatException("empty token");
        if (text.Length > MaxTokenLength) throw new MacaroonFormatException($"token of {text.Length} characters is longer than the {MaxTokenLength} accepted");
        var trimmed = text.AsSpan().TrimStart();
        if (!trimmed.IsEmpty && trimmed[0] == '{') return JsonFormat.Read(text, out format);
        var bytes = Base64Url.TryDecode(text) ?? throw new MacaroonFormatException("not base64 (nor JSON)");
        return ParseBinary(bytes, out format);
    }

    internal static Macaroon ParseBinary(ReadOnlySpan<byte> bytes, out MacaroonFormat format)
    {
        if (bytes.IsEmpty) throw new MacaroonFormatException("empty token");
        if (bytes.Length > MaxTokenLength) throw new MacaroonFormatException($"token of {bytes.Length} bytes is longer than the {MaxTokenLength} accepted");
        byte first = bytes[0];
        if (first == 2)
        {
            format = MacaroonFormat.BinaryV2;
            return BinaryV2Format.Read(bytes);
        }
        if (first is (>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F'))
        {
            format = MacaroonFormat.BinaryV1;
            return BinaryV1Format.Read(bytes);
        }
        throw new MacaroonFormatException("cannot determine the format of a binary macaroon (first byte is neither 2 nor a hex digit)");
    }
}
