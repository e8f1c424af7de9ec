using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Asupersync.Macaroons.Crypto;

namespace Asupersync.Macaroons.Tests.Interop;

/// <summary>
/// Tokens minted here verify in pymacaroons and tokens minted by pymacaroons verify here, in all four formats
/// (pymacaroons 0.13.0, Debian's python3-pymacaroons, supports binary v1, binary v2, JSON v1 and JSON v2), first-party
/// and third-party caveats with bound discharges. One python process per test.
/// </summary>
public class PymacaroonsInteropTests
{
    private const string Key = "interop root key: 32 bytes long!";
    private const string ThirdKey = "the auth service's caveat key";
    private const string ThirdId = "remind auth: user = alice";
    private static readonly string[] s_caveats = ["account = 3735928559", "user = Escrivá", "time-before 2031-01-01T00:00:00Z", "resource-scope http:GET:/orders/*"];
    private static readonly byte[] s_nonce = Enumerable.Range(100, 24).Select(i => (byte)i).ToArray();

    private static (Macaroon Token, Macaroon Bound) Mint(bool thirdParty)
    {
        var m = Macaroon.Create(Encoding.UTF8.GetBytes(Key), "key-1", "https://orders.example/");
        foreach (var c in s_caveats) m = m.AddFirstPartyCaveat(c);
        if (!thirdParty) return (m, m);
        m = m.AddThirdPartyCaveat("https://auth.example/", Encoding.UTF8.GetBytes(ThirdKey), Encoding.UTF8.GetBytes(ThirdId), s_nonce);
        var d = Macaroon.Create(Encoding.UTF8.GetBytes(ThirdKey), ThirdId, "https://auth.example/").AddFirstPartyCaveat("user = alice");
        return (m, m.BindDischarge(d));
    }

    private static string SerializerFor(MacaroonFormat f) => f is MacaroonFormat.JsonV1 or MacaroonFormat.JsonV2 ? "json" : "binary";

    private static MacaroonVerifier Verifier() => new MacaroonVerifier(Encoding.UTF8.GetBytes(Key))
        .AddCustom("account", (v, _) => v == "3735928559")
        .AddCustom("user", (v, _) => v is "Escrivá" or "alice");

    private static CaveatContext Context => new() { Now = new DateTimeOffset(2030, 6, 1, 0, 0, 0, TimeSpan.Zero), Resource = "http:GET:/orders/42" };

    [Fact]
    public void MintedHere_VerifiesInPymacaroons_InEveryFormat()
    {
        var ops = new JsonArray();
        var expected = new List<(string Label, string Signature, bool Ok)>();
        foreach (var format in Enum.GetValues<MacaroonFormat>())
        {
            foreach (bool third in new[] { false, true })
            {
                var (m, bound) = Mint(third);
                var exact = new JsonArray(s_caveats.Select(c => (JsonNode)c).Append("user = alice").ToArray());
                var op = new JsonObject
                {
                    ["op"] = "verify",
                    ["serializer"] = SerializerFor(format),
                    ["token"] = m.Serialize(format),
                    ["key"] = Key,
                    ["exact"] = exact,
                    ["discharges"] = third ? new JsonArray(bound.Serialize(format)) : new JsonArray(),
                };
                ops.Add(op);
                expected.Add(($"{format} third={third}", FixedVectorTests.Hex(m), true));
                // The same token with the wrong key is refused by pymacaroons too.
                var wrong = (JsonObject)op.DeepClone();
                wrong["key"] = "not the key";
                ops.Add(wrong);
                expected.Add(($"{format} third={third} wrong key", FixedVectorTests.Hex(m), false));
            }
        }
        var results = PyMacaroons.Run(ops);
        for (int i = 0; i < expected.Count; i++)
        {
            var r = results[i]!;
            Assert.True(r["error"] is null, $"{expected[i].Label}: {r["error"]}");
            Assert.True((bool)r["ok"]! == expected[i].Ok, $"{expected[i].Label}: pymacaroons said {r.ToJsonString()}");
            Assert.Equal(expected[i].Signature, (string)r["signature"]!);
        }
    }

    [Fact]
    public void MintedByPymacaroons_VerifiesHere_InEveryFormat_AndRoundTripsBack()
    {
        var ops = new JsonArray();
        foreach (int version in new[] { 1, 2 })
        {
            ops.Add(new JsonObject
            {
                ["op"] = "mint",
                ["version"] = version,
                ["location"] = "https://orders.example/",
                ["identifier"] = "key-1",
                ["key"] = Key,
                ["caveats"] = new JsonArray(s_caveats.Select(c => (JsonNode)c).ToArray()),
                ["third"] = new JsonArray(new JsonObject
                {
                    ["location"] = "https://auth.example/",
                    ["key"] = ThirdKey,
                    ["id"] = ThirdId,
                    ["nonce"] = Convert.ToHexStringLower(s_nonce),
                    ["caveats"] = new JsonArray("user = alice"),
                }),
            });
        }
        var minted = PyMacaroons.Run(ops);
        var (ours, _) = Mint(thirdParty: true);
        var back = new JsonArray();
        var labels = new List<string>();
        for (int v = 0; v < 2; v++)
        {
            var r = minted[v]!;
            Assert.True(r["error"] is null, r.ToJsonString());
            foreach (var (field, format) in v == 0
                ? new[] { ("binary", MacaroonFormat.BinaryV1), ("json", MacaroonFormat.JsonV1) }
                : new[] { ("binary", MacaroonFormat.BinaryV2), ("json", MacaroonFormat.JsonV2) })
            {
                var text = (string)r[field]!;
                var m = Macaroon.Parse(text, out var detected);
                Assert.Equal(format, detected);
                Assert.Equal((string)r["signature"]!, FixedVectorTests.Hex(m));
                // Same construction, same fixed nonce: the very signature we compute.
                Assert.Equal(FixedVectorTests.Hex(ours), FixedVectorTests.Hex(m));
                var discharge = Macaroon.Parse((string)r["discharges_" + field]![0]!);
                var verdict = Verifier().Verify(m, Context, [discharge]);
                Assert.True(verdict.IsAuthorized, $"{format}: {verdict}");
                Assert.False(Verifier().Verify(m, Context).IsAuthorized);
                // Re-serialized here, pymacaroons reads it back identically.
                back.Add(new JsonObject { ["op"] = "reserialize", ["serializer"] = field, ["token"] = m.Serialize(format) });
                labels.Add(format + " " + FixedVectorTests.Hex(m));
            }
        }
        var again = PyMacaroons.Run(back);
        for (int i = 0; i < labels.Count; i++)
        {
            Assert.True(again[i]!["error"] is null, again[i]!.ToJsonString());
            Assert.EndsWith((string)again[i]!["signature"]!, labels[i], StringComparison.Ordinal);
            var cav = again[i]!["caveats"]!.AsArray().Select(n => (string)n!).ToArray();
            Assert.Equal(ours.Caveats.Select(c => Convert.ToHexStringLower(c.Id.Span)), cav);
        }
    }

    [Fact]
    public void SecretBox_MatchesPyNaCl_OnRandomVectors()
    {
        var rng = new Random(1234);
        var ops = new JsonArray();
        var cases = new List<(byte[] Key, byte[] Nonce, byte[] Message)>();
        for (int i = 0; i < 24; i++)
        {
            var key = new byte[32];
            var nonce = new byte[24];
            var msg = new byte[i == 0 ? 0 : rng.Next(1, 200)];
            rng.NextBytes(key);
            rng.NextBytes(nonce);
            rng.NextBytes(msg);
            cases.Add((key, nonce, msg));
            ops.Add(new JsonObject { ["op"] = "secretbox", ["key"] = Convert.ToHexStringLower(key), ["nonce"] = Convert.ToHexStringLower(nonce), ["message"] = Convert.ToHexStringLower(msg) });
        }
        var results = PyMacaroons.Run(ops);
        for (int i = 0; i < cases.Count; i++)
        {
            var (key, nonce, msg) = cases[i];
            var theirs = Convert.FromHexString((string)results[i]!["box"]!);
            Assert.Equal(Convert.ToHexStringLower(theirs), Convert.ToHexStringLower(SecretBox.Seal(key, nonce, msg)));
            var opened = new byte[msg.Length];
            Assert.True(SecretBox.TryOpen(key, theirs, opened));
            Assert.Equal(msg, opened);
            var tampered = (byte[])theirs.Clone();
            tampered[24 + (i % (tampered.Length - 24))] ^= 1; // a tag or ciphertext byte
            Assert.False(SecretBox.TryOpen(key, tampered, opened));
        }
        Assert.False(SecretBox.TryOpen(RandomNumberGenerator.GetBytes(32), SecretBox.Seal(new byte[32], new byte[24], new byte[32]), new byte[32]));
    }
}
