using System.Text;

namespace Asupersync.Macaroons.Tests;

/// <summary>
/// Bad input for every parser and the verifier: truncated, oversized, bit-flipped and random tokens. Each must give a
/// <see cref="MacaroonFormatException"/> or a token; a token must verify to a denial — unless the edit only touched what
/// the signature does not cover (the location hint) or did not change the decoded bytes at all.
/// </summary>
public class FuzzTests
{
    private static readonly byte[] s_key = Encoding.UTF8.GetBytes("fuzz root key");
    private static readonly byte[] s_tpKey = Encoding.UTF8.GetBytes("fuzz third-party key");

    private static (Macaroon Token, Macaroon Discharge) Sample()
    {
        var m = Macaroon.Create(s_key, "fuzz-id", "https://fuzz/")
            .Add(Caveat.ResourceScope("app:**"))
            .Add(Caveat.TimeBefore(new DateTimeOffset(2040, 1, 1, 0, 0, 0, TimeSpan.Zero)))
            .AddFirstPartyCaveat("user = alice")
            .AddThirdPartyCaveat("https://auth/", s_tpKey, "tp-1"u8, new byte[24]);
        var d = m.BindDischarge(Macaroon.Create(s_tpKey, "tp-1", "https://auth/"));
        return (m, d);
    }

    private static MacaroonVerifier Verifier() => new MacaroonVerifier(s_key).AddCustom("user", (v, _) => v == "alice");

    private static readonly CaveatContext s_ctx = new() { Now = new DateTimeOffset(2035, 1, 1, 0, 0, 0, TimeSpan.Zero), Resource = "app:x" };

    private static bool SameSignedContent(Macaroon a, Macaroon b) =>
        a.Identifier.Span.SequenceEqual(b.Identifier.Span) && a.Signature.Span.SequenceEqual(b.Signature.Span)
        && a.Caveats.Count == b.Caveats.Count
        && a.Caveats.Zip(b.Caveats).All(p => p.First.Id.Span.SequenceEqual(p.Second.Id.Span) && p.First.VerificationId.Span.SequenceEqual(p.Second.VerificationId.Span));

    /// <summary>Parses <paramref name="text"/>; anything but a token or a format exception fails the test.</summary>
    private static Macaroon? TryParse(string text)
    {
        try
        {
            return Macaroon.Parse(text);
        }
        catch (MacaroonFormatException e)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
            return null;
        }
    }

    private static Macaroon? TryParseBinary(byte[] bytes)
    {
        try
        {
            return Macaroon.ParseBinary(bytes);
        }
        catch (MacaroonFormatException)
        {
            return null;
        }
    }

    private static void CheckMutant(Macaroon? parsed, Macaroon original, Macaroon discharge, string label)
    {
        if (parsed is null) return;
        var verdict = Verifier().Verify(parsed, s_ctx, [discharge]);
        if (verdict.IsAuthorized) Assert.True(SameSignedContent(parsed, original), $"{label}: an altered token verified");
        else Assert.False(string.IsNullOrEmpty(verdict.Reason));
        // As a discharge, too.
        var asDischarge = Verifier().Verify(original, s_ctx, [parsed]);
        if (asDischarge.IsAuthorized) Assert.True(SameSignedContent(parsed, discharge), $"{label}: an altered discharge verified");
    }

    [Fact]
    public void Baseline_TheSampleVerifies()
    {
        var (m, d) = Sample();
        Assert.True(Verifier().Verify(m, s_ctx, [d]).IsAuthorized);
    }

    [Fact]
    public void Truncations_AtEveryLength_AreRejectedOrDenied()
    {
        var (m, d) = Sample();
        foreach (var f in Enum.GetValues<MacaroonFormat>())
        {
            var text = m.Serialize(f);
            for (int len = 0; len < text.Length; len++) CheckMutant(TryParse(text[..len]), m, d, $"{f} truncated to {len}");
            if (f is MacaroonFormat.BinaryV1 or MacaroonFormat.BinaryV2)
            {
                var raw = m.SerializeBinary(f);
                for (int len = 0; len < raw.Length; len++) CheckMutant(TryParseBinary(raw[..len]), m, d, $"{f} raw truncated to {len}");
            }
        }
    }

    [Fact]
    public void BitFlips_AreRejectedOrDenied()
    {
        var (m, d) = Sample();
        var rng = new Random(7);
        foreach (var f in Enum.GetValues<MacaroonFormat>())
        {
            var text = m.Serialize(f);
            for (int i = 0; i < 600; i++)
            {
                var chars = text.ToCharArray();
                int flips = 1 + rng.Next(3);
                for (int k = 0; k < flips; k++)
                {
                    int at = rng.Next(chars.Length);
                    chars[at] = (char)(chars[at] ^ (1 << rng.Next(7)));
                }
                CheckMutant(TryParse(new string(chars)), m, d, $"{f} flip {i}");
            }
            if (f is MacaroonFormat.BinaryV1 or MacaroonFormat.BinaryV2)
            {
                var raw = m.SerializeBinary(f);
                for (int i = 0; i < raw.Length * 8; i++)
                {
                    var b = (byte[])raw.Clone();
                    b[i / 8] ^= (byte)(1 << (i % 8));
                    CheckMutant(TryParseBinary(b), m, d, $"{f} raw bit {i}");
                }
            }
        }
    }

    [Fact]
    public void RandomInput_IsRejected()
    {
        var (m, d) = Sample();
        var rng = new Random(11);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/={}[]\":, \n";
        for (int i = 0; i < 3000; i++)
        {
            int len = rng.Next(0, 300);
            var sb = new StringBuilder(len);
            for (int k = 0; k < len; k++) sb.Append(alphabet[rng.Next(alphabet.Length)]);
            CheckMutant(TryParse(sb.ToString()), m, d, "random text");
            var bytes = new byte[rng.Next(0, 200)];
            rng.NextBytes(bytes);
            if (bytes.Length > 0 && rng.Next(2) == 0) bytes[0] = 2; // steer into the v2 parser
            CheckMutant(TryParseBinary(bytes), m, d, "random bytes");
        }
    }

    [Fact]
    public void Oversized_AndHostileStructures_AreRejectedQuickly()
    {
        Assert.Throws<MacaroonFormatException>(() => Macaroon.Parse(new string('A', 70_000)));
        Assert.Throws<MacaroonFormatException>(() => Macaroon.ParseBinary(new byte[70_000]));
        Assert.Throws<MacaroonFormatException>(() => Macaroon.Parse(new string('[', 5000) + new string(']', 5000)));
        Assert.Throws<MacaroonFormatException>(() => Macaroon.Parse("{\"i\":\"x\",\"s64\":\"" + new string('A', 43) + "\",\"c\":" + new string('[', 50) + new string(']', 50) + "}"));
        // A v2 field that claims 2^63 bytes, and a varint that never ends.
        Assert.Throws<MacaroonFormatException>(() => Macaroon.ParseBinary([2, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]));
        Assert.Throws<MacaroonFormatException>(() => Macaroon.ParseBinary([2, .. Enumerable.Repeat((byte)0xFF, 40)]));
        // A v1 packet whose length points past the end, and one of length zero.
        Assert.Throws<MacaroonFormatException>(() => Macaroon.ParseBinary(Encoding.ASCII.GetBytes("ffffidentifier x\n")));
        Assert.Throws<MacaroonFormatException>(() => Macaroon.ParseBinary(Encoding.ASCII.GetBytes("0000")));
        // Many caveats beyond the limit.
        var many = Macaroon.Create(s_key, "x");
        for (int i = 0; i < 1100; i++) many = many.AddFirstPartyCaveat("c" + i);
        Assert.Throws<MacaroonFormatException>(() => Macaroon.Parse(many.Serialize(MacaroonFormat.BinaryV2)));
        // Duplicate representations of one field (libmacaroons' format.txt: reject).
        Assert.Throws<MacaroonFormatException>(() => Macaroon.Parse("{\"i\":\"foo\",\"i64\":\"Zm9v\",\"s64\":\"" + new string('A', 43) + "\"}"));
        Assert.Throws<MacaroonFormatException>(() => Macaroon.Parse("{\"identifier\":\"a\",\"identifier\":\"b\",\"signature\":\"" + new string('0', 64) + "\"}"));
        Assert.False(Macaroon.TryParse(null, out _, out var err));
        Assert.NotNull(err);
    }

    [Fact]
    public void JsonV2_AcceptsTheEquivalentFieldEncodings_OfFormatTxt()
    {
        // format.txt: {"i": "Ou?T"}, {"i64": "T3U/VA=="}, {"i64": "T3U_VA=="}, {"i64": "T3U/VA"}, {"i64": "T3U_VA"} are one id.
        var sig = "\"s64\":\"" + Convert.ToBase64String(new byte[32]) + "\"";
        foreach (var field in new[] { "\"i\":\"Ou?T\"", "\"i64\":\"T3U/VA==\"", "\"i64\":\"T3U_VA==\"", "\"i64\":\"T3U/VA\"", "\"i64\":\"T3U_VA\"" })
        {
            var m = Macaroon.Parse("{\"v\":2," + field + ",\"c\":[{" + field + "}]," + sig + "}");
            Assert.Equal("Ou?T", m.IdentifierText);
            Assert.Equal("Ou?T", m.Caveats[0].Text);
        }
    }
}

public class BearerHeaderFuzzTests
{
    [Fact]
    public void BearerCredentialSplitting_NeverThrows_AndEveryPartIsParsedOrRejected()
    {
        var key = Encoding.UTF8.GetBytes("k");
        var m = Macaroon.Create(key, "id").Add(Caveat.MaxUses(1));
        string[] seeds = [m.Serialize(), m.Serialize(MacaroonFormat.JsonV2), "[" + m.Serialize(MacaroonFormat.JsonV1) + "]", m.Serialize() + "," + m.Serialize()];
        var rng = new Random(5);
        const string alphabet = "{}[],\" :AZaz09-_=+/\\";
        for (int i = 0; i < 4000; i++)
        {
            var s = seeds[rng.Next(seeds.Length)].ToCharArray();
            int edits = rng.Next(0, 4);
            for (int k = 0; k < edits && s.Length > 0; k++) s[rng.Next(s.Length)] = alphabet[rng.Next(alphabet.Length)];
            var text = new string(s, 0, rng.Next(s.Length + 1));
            var parts = Asupersync.Macaroons.Http.MacaroonAuthorization.SplitCredentials(text);
            if (parts is null) continue;
            foreach (var p in parts)
                _ = Macaroon.TryParse(p, out _, out _); // must not throw
        }
        Assert.Equal(2, Asupersync.Macaroons.Http.MacaroonAuthorization.SplitCredentials(seeds[3])!.Length);
        Assert.Single(Asupersync.Macaroons.Http.MacaroonAuthorization.SplitCredentials(seeds[2])!);
        Assert.Null(Asupersync.Macaroons.Http.MacaroonAuthorization.SplitCredentials("[{\"i\":"));
    }
}
