using CsCheck;

namespace Asupersync.Macaroons.Tests;

/// <summary>CsCheck properties: attenuation never widens, and no edit of a token survives verification.</summary>
public class PropertyTests
{
    private static readonly DateTimeOffset s_epoch = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // A small domain for predicates and contexts, so that contexts often satisfy caveats (non-vacuous properties).
    private static readonly Gen<Caveat> GenCaveat = Gen.OneOf<Caveat>(
        Gen.Int[0, 10].Select(h => (Caveat)Caveat.TimeBefore(s_epoch.AddHours(h))),
        Gen.Int[0, 10].Select(h => (Caveat)Caveat.TimeAfter(s_epoch.AddHours(h))),
        Gen.Long[1, 4].Select(r => (Caveat)Caveat.RegionScope(r)),
        Gen.Long[1, 3].Select(t => (Caveat)Caveat.TaskScope(t)),
        Gen.Long[0, 3].Select(n => (Caveat)Caveat.MaxUses(n)),
        Gen.OneOfConst("app:*", "app:a", "app:b", "**", "app:a/*", "app:**").Select(g => (Caveat)Caveat.ResourceScope(g)),
        Gen.Int[1, 3].Select(n => (Caveat)Caveat.RateLimit(n, TimeSpan.FromHours(1))),
        Gen.OneOfConst("acme", "globex").Select(v => (Caveat)Caveat.Custom("tenant", v)));

    private static readonly Gen<string> GenResource = Gen.OneOfConst("app:a", "app:b", "app:a/x", "net:connect:1.2.3.4:80");

    private static readonly Gen<(int Hour, long Task, long[] Regions, string Resource, string Tenant)> GenContext =
        Gen.Select(Gen.Int[0, 11], Gen.Long[1, 3], Gen.OneOfConst<long[]>([1], [2, 1], [3, 2, 1], [4, 1]), GenResource, Gen.OneOfConst("acme", "globex"));

    private static readonly Gen<byte[]> GenKey = Gen.Byte.Array[1, 40];

    private static MacaroonVerifier Verifier(byte[] key) => new MacaroonVerifier(key).AddCustom("tenant", (v, c) => c.Facts!["tenant"] == v);

    private static CaveatContext Context((int Hour, long Task, long[] Regions, string Resource, string Tenant) c, UseLedger ledger) => new()
    {
        Now = s_epoch.AddHours(c.Hour).AddMinutes(30),
        TaskId = c.Task,
        RegionPath = c.Regions,
        Resource = c.Resource,
        Ledger = ledger,
        Facts = new Dictionary<string, string> { ["tenant"] = c.Tenant },
    };

    [Fact]
    public void Attenuation_NeverWidens()
    {
        int childAuthorized = 0;
        Gen.Select(GenKey, GenCaveat.Array[0, 4], GenCaveat.Array[1, 4], GenContext).Sample((key, parentCaveats, extra, c) =>
        {
            var parent = Macaroon.Create(key, "id").Attenuate(parentCaveats);
            var child = parent.Attenuate(extra);
            var v = Verifier(key);
            // In every context (counters fresh), whatever the child is granted, the parent is granted too.
            bool childOk = v.Verify(child, Context(c, new UseLedger())).IsAuthorized;
            bool parentOk = v.Verify(parent, Context(c, new UseLedger())).IsAuthorized;
            if (childOk) childAuthorized++;
            return !childOk || parentOk;
        }, iter: 3000);
        Assert.True(childAuthorized > 50, $"the property was checked on only {childAuthorized} authorized uses");
    }

    [Fact]
    public void Attenuation_SharesCounters_SoDerivedTokensNeverAddUses()
    {
        // Uses of a token and of tokens derived from it, interleaved on one ledger: together they never get more uses
        // than the parent's max-uses allows (a derived token's counters are its parent's).
        Gen.Select(GenKey, Gen.Long[0, 4], GenCaveat.Array[0, 3], Gen.Bool.Array[1, 12]).Sample((key, n, extra, useChild) =>
        {
            var parent = Macaroon.Create(key, "id").Add(Caveat.MaxUses(n));
            var child = parent.Attenuate(extra).AddFirstPartyCaveat("tenant = acme");
            var v = Verifier(key);
            var ledger = new UseLedger();
            var ctx = Context((1, 1, [1], "app:a", "acme"), ledger);
            int granted = useChild.Count(c => v.Verify(c ? child : parent, ctx).IsAuthorized);
            return granted <= n && (useChild.All(c => !c) ? granted == Math.Min(n, useChild.Length) : true);
        }, iter: 1000);
    }

    private static readonly Gen<Macaroon> GenToken =
        Gen.Select(GenKey, Gen.String[Gen.Char.AlphaNumeric, 1, 12], Gen.String[Gen.Char.AlphaNumeric, 1, 16].Array[1, 6])
            .Select((key, id, caveats) => caveats.Aggregate(Macaroon.Create(key, id, "loc"), (m, c) => m.AddFirstPartyCaveat("k = " + c)));

    private static bool SignatureFails(Macaroon original, Macaroon edited)
    {
        // A verifier that accepts every caveat: only the signature can deny.
        var v = new MacaroonVerifier(_ => s_keys.TryGetValue(original, out var k) ? k : null).SatisfyGeneral(_ => true);
        return v.Verify(edited).Kind == DenialKind.SignatureMismatch && v.Verify(original).IsAuthorized;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Macaroon, byte[]> s_keys = new();

    private static readonly Gen<(Macaroon Token, byte[] Key)> GenKeyed =
        Gen.Select(GenKey, Gen.String[Gen.Char.AlphaNumeric, 1, 12], Gen.String[Gen.Char.AlphaNumeric, 1, 16].Array[2, 6])
            .Select((key, id, caveats) => (caveats.Aggregate(Macaroon.Create(key, id, "loc"), (m, c) => m.AddFirstPartyCaveat("k = " + c)), key));

    private static Macaroon With(Macaroon m, MacaroonCaveat[] caveats, byte[]? sig = null, byte[]? id = null) =>
        new(m.Location, id ?? m.Identifier.ToArray(), caveats, sig ?? m.Signature.ToArray());

    [Fact]
    public void RemovingACaveat_BreaksVerification()
    {
        Gen.Select(GenKeyed, Gen.Int[0, 100]).Sample((t, pick) =>
        {
            s_keys.AddOrUpdate(t.Token, t.Key);
            var list = t.Token.Caveats.ToList();
            list.RemoveAt(pick % list.Count);
            return SignatureFails(t.Token, With(t.Token, [.. list]));
        }, iter: 500);
    }

    [Fact]
    public void ReorderingCaveats_BreaksVerification()
    {
        Gen.Select(GenKeyed, Gen.Int[0, 100], Gen.Int[1, 100]).Sample((t, i, d) =>
        {
            s_keys.AddOrUpdate(t.Token, t.Key);
            var list = t.Token.Caveats.ToArray();
            int a = i % list.Length, b = (a + d) % list.Length;
            if (a == b || list[a].Id.Span.SequenceEqual(list[b].Id.Span)) return true; // swapping equal caveats changes nothing
            (list[a], list[b]) = (list[b], list[a]);
            return SignatureFails(t.Token, With(t.Token, list));
        }, iter: 500);
    }

    [Fact]
    public void EditingAnyCaveatByte_BreaksVerification()
    {
        Gen.Select(GenKeyed, Gen.Int[0, 1000], Gen.Int[0, 1000], Gen.Byte[1, 255]).Sample((t, ci, bi, x) =>
        {
            s_keys.AddOrUpdate(t.Token, t.Key);
            var list = t.Token.Caveats.ToArray();
            int c = ci % list.Length;
            var id = list[c].Id.ToArray();
            id[bi % id.Length] ^= x;
            list[c] = new MacaroonCaveat(id, null, null);
            return SignatureFails(t.Token, With(t.Token, list));
        }, iter: 1000);
    }

    [Fact]
    public void EditingAnySignatureOrIdentifierByte_BreaksVerification()
    {
        Gen.Select(GenKeyed, Gen.Int[0, 31], Gen.Byte[1, 255], Gen.Bool).Sample((t, i, x, onId) =>
        {
            s_keys.AddOrUpdate(t.Token, t.Key);
            if (onId)
            {
                var id = t.Token.Identifier.ToArray();
                id[i % id.Length] ^= x;
                // The key lookup is by token object, so the edited identifier still finds the key: only the signature decides.
                var edited = With(t.Token, t.Token.Caveats.ToArray(), id: id);
                s_keys.AddOrUpdate(edited, t.Key);
                var v = new MacaroonVerifier(t.Key).SatisfyGeneral(_ => true);
                return v.Verify(edited).Kind == DenialKind.SignatureMismatch;
            }
            var sig = t.Token.Signature.ToArray();
            sig[i] ^= x;
            return SignatureFails(t.Token, With(t.Token, t.Token.Caveats.ToArray(), sig));
        }, iter: 1000);
    }

    [Fact]
    public void AppendingACaveat_WithoutTheSignature_BreaksVerification()
    {
        // Adding a caveat to the list without chaining the signature (or chaining from a wrong signature) never verifies.
        Gen.Select(GenKeyed, Gen.String[Gen.Char.AlphaNumeric, 1, 10]).Sample((t, extra) =>
        {
            s_keys.AddOrUpdate(t.Token, t.Key);
            var list = t.Token.Caveats.Append(new MacaroonCaveat(System.Text.Encoding.UTF8.GetBytes("k = " + extra), null, null)).ToArray();
            return SignatureFails(t.Token, With(t.Token, list));
        }, iter: 500);
    }

    [Fact]
    public void Serialization_RoundTripsEveryFormat()
    {
        Gen.Select(GenToken, Gen.Byte.Array[1, 20]).Sample((m, binaryCaveat) =>
        {
            var withBinary = m.AddFirstPartyCaveat(binaryCaveat).AddThirdPartyCaveat("tp", binaryCaveat, binaryCaveat, new byte[24]);
            foreach (var f in Enum.GetValues<MacaroonFormat>())
            {
                var source = f == MacaroonFormat.JsonV1 && withBinary.Caveats.Any(c => c.Text is null) ? m : withBinary;
                var back = Macaroon.Parse(source.Serialize(f), out var detected);
                if (detected != f || back.Location != source.Location || !back.Signature.Span.SequenceEqual(source.Signature.Span)
                    || !back.Identifier.Span.SequenceEqual(source.Identifier.Span) || back.Caveats.Count != source.Caveats.Count)
                    return false;
                for (int i = 0; i < back.Caveats.Count; i++)
                {
                    var (a, b) = (back.Caveats[i], source.Caveats[i]);
                    if (!a.Id.Span.SequenceEqual(b.Id.Span) || !a.VerificationId.Span.SequenceEqual(b.VerificationId.Span) || a.Location != b.Location) return false;
                }
            }
            return true;
        }, iter: 300);
    }
}
