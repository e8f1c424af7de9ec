using System.Text;

namespace Asupersync.Macaroons;

/// <summary>
/// One caveat as it stands in a token: its identifier (the predicate text for a first-party caveat; the id the third
/// party understands for a third-party caveat), and for a third-party caveat its verification id and location.
/// Immutable.
/// </summary>
public sealed class MacaroonCaveat
{
    private readonly byte[] _id;
    private readonly byte[] _vid;
    private object? _text;   // null: not decoded yet; the string; or s_notText when the id is not UTF-8
    private object? _parsed; // Caveat, or s_unparsed when the text is not one of the built-in predicates

    private static readonly object s_unparsed = new();
    private static readonly object s_notText = new();

    internal MacaroonCaveat(byte[] id, byte[]? vid, string? location)
    {
        _id = id;
        _vid = vid ?? [];
        Location = location;
    }

    /// <summary>The caveat identifier (for a first-party caveat: the predicate, UTF-8).</summary>
    public ReadOnlyMemory<byte> Id => _id;

    /// <summary>The verification id of a third-party caveat (the caveat key, encrypted under the chain signature); empty for a first-party caveat.</summary>
    public ReadOnlyMemory<byte> VerificationId => _vid;

    /// <summary>Where the third party that discharges this caveat lives (a hint; null or empty for a first-party caveat).</summary>
    public string? Location { get; }

    /// <summary>True for a third-party caveat (one with a verification id).</summary>
    public bool IsThirdParty => _vid.Length > 0;

    /// <summary>The identifier as text, or null when it is not valid UTF-8.</summary>
    public string? Text
    {
        get
        {
            var t = Volatile.Read(ref _text);
            if (t is null)
            {
                // Decoded once; a race decodes twice and publishes equal values, each in one reference write.
                t = (object?)Utf8.TryDecode(_id) ?? s_notText;
                Volatile.Write(ref _text, t);
            }
            return t as string;
        }
    }

    /// <summary>The built-in predicate this first-party caveat states, or null when its text is not one of them.</summary>
    public Caveat? Predicate
    {
        get
        {
            var p = Volatile.Read(ref _parsed);
            if (p is null)
            {
                p = !IsThirdParty && Text is { } t && Caveat.TryParse(t, out var c) ? c : s_unparsed;
                Volatile.Write(ref _parsed, p);
            }
            return p as Caveat;
        }
    }

    internal ReadOnlySpan<byte> IdSpan => _id;

    internal ReadOnlySpan<byte> VidSpan => _vid;

    internal byte[] IdArray => _id;

    internal byte[] VidArray => _vid;

    /// <inheritdoc />
    public override string ToString() =>
        IsThirdParty ? $"third-party caveat at '{Location}' (id {Describe(_id)})" : Text ?? "caveat " + Describe(_id);

    internal static string Describe(byte[] bytes) => Utf8.TryDecode(bytes) ?? "base64:" + Convert.ToBase64String(bytes);
}

internal static class Utf8
{
    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    internal static string? TryDecode(ReadOnlySpan<byte> bytes)
    {
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) return null;
        return s_strict.GetString(bytes);
    }

    internal static byte[] Encode(string s) => s_strict.GetBytes(s);
}
