using System.Text;

namespace Asupersync.Macaroons.Tests;

/// <summary>
/// Fixed vectors: the libmacaroons README example (the same values appear in pymacaroons' test notes), tokens from
/// libmacaroons' own unit tests, and the NDSS 2014 paper's file-server example with signatures computed by pymacaroons.
/// </summary>
public class FixedVectorTests
{
    internal static readonly byte[] BankKey = Encoding.UTF8.GetBytes("this is our super secret key; only we should know it");

    [Fact]
    public void LibmacaroonsReadme_SignatureChain()
    {
        var m = Macaroon.Create(BankKey, "we used our secret key", "http://mybank/");
        Assert.Equal("e3d9e02908526c4c0039ae15114115d97fdd68bf2ba379b342aaf0f617d0552f", Hex(m));
        m = m.AddFirstPartyCaveat("account = 3735928559");
        Assert.Equal("1efe4763f290dbce0c1d08477367e11f4eee456a64933cf662d79772dbb82128", Hex(m));
        m = m.AddFirstPartyCaveat("time < 2020-01-01T00:00");
        Assert.Equal("b5f06c8c8ef92f6c82c6ff282cd1f8bd1849301d09a2db634ba182536a611c49", Hex(m));
        m = m.AddFirstPartyCaveat("email = alice@example.org");
        Assert.Equal("ddf553e46083e55b8d71ab822be3d8fcf21d6bf19c40d617bb9fb438934474b6", Hex(m));
    }

    [Fact]
    public void LibmacaroonsTestNotes_BinaryV1Serialization_IsByteExact()
    {
        const string expected = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxNmNpZCB0ZXN0ID0gY2F2ZWF0CjAwMmZzaWduYXR1cmUgGXusegRK8zMyhluSZuJtSTvdZopmDkTYjOGpmMI9vWcK";
        var m = Macaroon.Create(BankKey, "we used our secret key", "http://mybank/").AddFirstPartyCaveat("test = caveat");
        Assert.Equal("197bac7a044af33332865b9266e26d493bdd668a660e44d88ce1a998c23dbd67", Hex(m));
        Assert.Equal(expected, m.Serialize(MacaroonFormat.BinaryV1));
        var back = Macaroon.Parse(expected, out var format);
        Assert.Equal(MacaroonFormat.BinaryV1, format);
        Assert.Equal(m.Signature.ToArray(), back.Signature.ToArray());
        Assert.Equal("http://mybank/", back.Location);
    }

    // libmacaroons test/unit/caveat_v2_1.vtest and caveat_v2_2.vtest: a v2 token minted by libmacaroons.
    private const string LibmacaroonsV2 = "AgETaHR0cDovL2V4YW1wbGUub3JnLwIFa2V5aWQAAhRhY2NvdW50ID0gMzczNTkyODU1OQAABiD1SAf23G7fiL8PcwazgiVio2JTPb9zObphdl2kvSWdhw";

    [Fact]
    public void LibmacaroonsUnitTest_V2Token_VerifiesWithTheRightPredicate()
    {
        var m = Macaroon.Parse(LibmacaroonsV2, out var format);
        Assert.Equal(MacaroonFormat.BinaryV2, format);
        Assert.Equal("http://example.org/", m.Location);
        Assert.Equal("keyid", m.IdentifierText);
        var v = new MacaroonVerifier(Encoding.UTF8.GetBytes("this is the key")).SatisfyExact("account = 3735928559");
        Assert.True(v.Verify(m).IsAuthorized);
        Assert.Equal(LibmacaroonsV2, m.Serialize(MacaroonFormat.BinaryV2));
    }

    [Fact]
    public void LibmacaroonsUnitTest_V2Token_IsDeniedForAnotherContext()
    {
        var m = Macaroon.Parse(LibmacaroonsV2);
        var v = new MacaroonVerifier(Encoding.UTF8.GetBytes("this is the key")).SatisfyExact("account = 0000000000");
        var r = v.Verify(m);
        Assert.False(r.IsAuthorized);
        // "account = …" is a custom caveat; with no checker for "account" and no exact match it is unknown: denied.
        Assert.Equal(DenialKind.UnknownCaveat, r.Kind);
        Assert.Equal("account = 3735928559", r.FailedCaveat);
        var wrongKey = new MacaroonVerifier(Encoding.UTF8.GetBytes("this is not the key")).SatisfyExact("account = 3735928559");
        Assert.Equal(DenialKind.SignatureMismatch, wrongKey.Verify(m).Kind);
    }

    [Fact]
    public void Paper_FileServerExample_ChainAndVerification()
    {
        // NDSS 2014, §2: a storage service mints a macaroon and holders attenuate it to one chunk range, read-only,
        // time-limited. Signatures computed with pymacaroons 0.13.0.
        var key = Encoding.UTF8.GetBytes("paper example root key");
        var m = Macaroon.Create(key, "fs-key-1", "https://fs.example/");
        m = m.AddFirstPartyCaveat("chunk in {100...500}");
        Assert.Equal("9148d60ed84647678d13283bd04dd449d99dbcf175d1721b6e5a04411d0e6e90", Hex(m));
        m = m.AddFirstPartyCaveat("operation == read");
        Assert.Equal("c96df81ea992523e1609f7d259525b884836f1c58a81a9ec032467cc5668989a", Hex(m));
        m = m.AddFirstPartyCaveat("time < 5/1/13 3pm");
        Assert.Equal("164452cac3dbd1965e1e8a587671b5871b3e9c8e12dea4c8b42c5f4308046e3c", Hex(m));
        var v = new MacaroonVerifier(key).SatisfyExact("chunk in {100...500}").SatisfyExact("operation == read").SatisfyExact("time < 5/1/13 3pm");
        Assert.True(v.Verify(m).IsAuthorized);
        var noWrite = new MacaroonVerifier(key).SatisfyExact("chunk in {100...500}").SatisfyExact("operation == write").SatisfyExact("time < 5/1/13 3pm");
        Assert.Equal("operation == read", noWrite.Verify(m).FailedCaveat);
    }

    [Fact]
    public void ReadmeThirdPartyExample_FixedNonce_MatchesPymacaroons()
    {
        // The libmacaroons README's third-party example with a fixed nonce (0..23); values from pymacaroons 0.13.0.
        var rootKey = Encoding.UTF8.GetBytes("this is a different super-secret key; never use the same secret twice");
        var caveatKey = Encoding.UTF8.GetBytes("4; guaranteed random by a fair toss of the dice");
        var caveatId = Encoding.UTF8.GetBytes("this was how we remind auth of key/pred");
        var nonce = Enumerable.Range(0, 24).Select(i => (byte)i).ToArray();
        var m = Macaroon.Create(rootKey, "we used our other secret key", "http://mybank/")
            .AddFirstPartyCaveat("account = 3735928559")
            .AddThirdPartyCaveat("http://auth.mybank/", caveatKey, caveatId, nonce);
        Assert.Equal("12e820367c8a8b68d6c8d9da3c4aa4e8bd31ed606bc01a2e0eb381a90680a4ad", Hex(m));
        Assert.Equal(
            "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMmNpZGVudGlmaWVyIHdlIHVzZWQgb3VyIG90aGVyIHNlY3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDMwY2lkIHRoaXMgd2FzIGhvdyB3ZSByZW1pbmQgYXV0aCBvZiBrZXkvcHJlZAowMDUxdmlkIAABAgMEBQYHCAkKCwwNDg8QERITFBUWF-zLtsCHWWQzbQC369txo90p5BtqS4Qs4XHZZi68Zmfg_p4SOd3wGwgu17RNI3UmggowMDFiY2wgaHR0cDovL2F1dGgubXliYW5rLwowMDJmc2lnbmF0dXJlIBLoIDZ8ioto1sjZ2jxKpOi9Me1ga8AaLg6zgakGgKStCg",
            m.Serialize(MacaroonFormat.BinaryV1));
        var d = Macaroon.Create(caveatKey, caveatId, "http://auth.mybank/").AddFirstPartyCaveat("time < 2020-01-01T00:00");
        Assert.Equal("2ed1049876e9d5840950274b579b0770317df54d338d9d3039c7c67d0d91d63c", Hex(d));
        var bound = m.BindDischarge(d);
        Assert.Equal("f86233366f00cf029eadd7b58d3733d457af8a03e2f2d88704b6c11dc777c75c", Hex(bound));
        var v = new MacaroonVerifier(rootKey).SatisfyExact("account = 3735928559").SatisfyExact("time < 2020-01-01T00:00");
        Assert.True(v.Verify(m, null, [bound]).IsAuthorized);
        Assert.Equal(DenialKind.InvalidDischarge, v.Verify(m, null, [d]).Kind); // unbound discharge
        Assert.Equal(DenialKind.MissingDischarge, v.Verify(m).Kind);
    }

    internal static string Hex(Macaroon m) => Convert.ToHexStringLower(m.Signature.Span);
}
