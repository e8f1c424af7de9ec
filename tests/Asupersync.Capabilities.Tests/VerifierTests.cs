using System.Text;

namespace Asupersync.Macaroons.Tests;

public class VerifierTests
{
    private static readonly byte[] s_key = Encoding.UTF8.GetBytes("verifier tests root key");
    private static readonly DateTimeOffset s_t0 = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static Macaroon Token(params Caveat[] caveats) => Macaroon.Create(s_key, "id-1", "loc").Attenuate(caveats);

    private static MacaroonVerifier V() => new(s_key);

    [Fact]
    public void TimeBefore_HoldsStrictlyBeforeTheDeadline_AndNeedsAClock()
    {
        var m = Token(Caveat.TimeBefore(s_t0));
        Assert.True(V().Verify(m, new CaveatContext { Now = s_t0.AddTicks(-1) }).IsAuthorized);
        var at = V().Verify(m, new CaveatContext { Now = s_t0 });
        Assert.Equal(DenialKind.CaveatNotSatisfied, at.Kind);
        Assert.Equal("time-before 2030-01-01T12:00:00Z", at.FailedCaveat);
        Assert.Contains("expired", at.Reason, StringComparison.Ordinal);
        Assert.Contains("no clock", V().Verify(m).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TimeAfter_HoldsStrictlyAfterTheStart()
    {
        var m = Token(Caveat.TimeAfter(s_t0));
        Assert.True(V().Verify(m, new CaveatContext { Now = s_t0.AddSeconds(1) }).IsAuthorized);
        Assert.Contains("not valid yet", V().Verify(m, new CaveatContext { Now = s_t0 }).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void RegionScope_AcceptsTheRegionAndItsDescendants_Only()
    {
        var m = Token(Caveat.RegionScope(7));
        Assert.True(V().Verify(m, new CaveatContext { RegionPath = [7, 1] }).IsAuthorized);
        Assert.True(V().Verify(m, new CaveatContext { RegionPath = [12, 9, 7, 1] }).IsAuthorized);
        Assert.Equal(DenialKind.CaveatNotSatisfied, V().Verify(m, new CaveatContext { RegionPath = [9, 1] }).Kind);
        Assert.Contains("no region identity", V().Verify(m).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TaskScope_AcceptsThatTaskOnly()
    {
        var m = Token(Caveat.TaskScope(42));
        Assert.True(V().Verify(m, new CaveatContext { TaskId = 42 }).IsAuthorized);
        Assert.Contains("task 43", V().Verify(m, new CaveatContext { TaskId = 43 }).Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http:GET:/orders/*", "http:GET:/orders/42", true)]
    [InlineData("http:GET:/orders/*", "http:GET:/orders/", true)]
    [InlineData("http:GET:/orders/*", "http:GET:/orders/42/items", false)]
    [InlineData("http:GET:/orders/*", "http:POST:/orders/42", false)]
    [InlineData("http:GET:/orders/**", "http:GET:/orders/42/items", true)]
    [InlineData("http:*:/orders", "http:DELETE:/orders", true)]
    [InlineData("net:connect:db.internal:5432", "net:connect:db.internal:5432", true)]
    [InlineData("net:connect:db.internal:5432", "net:connect:db.internal:5433", false)]
    [InlineData("net:connect:127.0.0.1:*", "net:connect:127.0.0.1:80", true)]
    [InlineData("net:connect:127.0.0.1:*", "net:connect:127.0.0.10:80", false)]
    [InlineData("net:**", "net:bind:0.0.0.0:8080", true)]
    [InlineData("app:report-?", "app:report-7", true)]
    [InlineData("app:report-?", "app:report-77", false)]
    [InlineData("a**b", "a:x/y:b", true)]
    [InlineData("**", "", true)]
    [InlineData("*", "x:y", false)]
    public void ResourceScope_Glob(string glob, string resource, bool matches)
    {
        Assert.Equal(matches, ResourceGlob.Matches(glob, resource));
        var m = Token(Caveat.ResourceScope(glob));
        var r = V().Verify(m, new CaveatContext { Resource = resource });
        Assert.Equal(matches, r.IsAuthorized);
        if (!matches) Assert.Contains(resource, r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ResourceScope_WithoutAResource_Denies()
    {
        Assert.Contains("names no resource", V().Verify(Token(Caveat.ResourceScope("**"))).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Glob_IsLinearTime_OnAdversarialInput()
    {
        // A backtracking matcher takes exponential time on this; ours is O(|glob|·|resource|).
        var glob = string.Concat(Enumerable.Repeat("*a", 200)) + "b";
        var resource = new string('a', 1000);
        Assert.False(ResourceGlob.Matches(glob, resource));
    }

    [Fact]
    public void MaxUses_GrantsExactlyN_AndDerivedTokensShareTheCount()
    {
        var ledger = new UseLedger();
        var ctx = new CaveatContext { Ledger = ledger };
        var m = Token(Caveat.MaxUses(3));
        Assert.True(V().Verify(m, ctx).IsAuthorized);
        var child = m.AddFirstPartyCaveat("note = child");
        var v = V().SatisfyExact("note = child");
        Assert.True(v.Verify(child, ctx).IsAuthorized);
        Assert.True(v.Verify(m, ctx).IsAuthorized);
        var spent = v.Verify(child, ctx);
        Assert.Equal(DenialKind.LimitReached, spent.Kind);
        Assert.Equal("max-uses 3", spent.FailedCaveat);
        Assert.False(v.Verify(m, ctx).IsAuthorized);
        // Without a ledger nothing can be counted: denied, never unlimited.
        Assert.Contains("no use ledger", V().Verify(m).Reason, StringComparison.Ordinal);
        Assert.False(V().Verify(Token(Caveat.MaxUses(0)), ctx).IsAuthorized);
    }

    [Fact]
    public void CountedUses_AreNotConsumed_WhenAnotherCaveatDenies()
    {
        var ledger = new UseLedger();
        var m = Token(Caveat.MaxUses(1), Caveat.ResourceScope("app:a"));
        Assert.False(V().Verify(m, new CaveatContext { Ledger = ledger, Resource = "app:b" }).IsAuthorized);
        Assert.False(V().Verify(m, new CaveatContext { Ledger = ledger, Resource = "app:b" }).IsAuthorized);
        Assert.True(V().Verify(m, new CaveatContext { Ledger = ledger, Resource = "app:a" }).IsAuthorized);
        Assert.False(V().Verify(m, new CaveatContext { Ledger = ledger, Resource = "app:a" }).IsAuthorized);
    }

    [Fact]
    public void CountedUses_AreAllOrNothing_AcrossTwoCounters()
    {
        var ledger = new UseLedger();
        // 3 uses in total, at most 2 per minute: the third use in the first minute is refused by the rate limit and
        // must not spend one of the 3 uses.
        var m = Token(Caveat.MaxUses(3), Caveat.RateLimit(2, TimeSpan.FromMinutes(1)));
        var now = new DateTimeOffset(2030, 1, 1, 0, 0, 10, TimeSpan.Zero);
        CaveatContext At(DateTimeOffset t) => new() { Ledger = ledger, Now = t };
        Assert.True(V().Verify(m, At(now)).IsAuthorized);
        Assert.True(V().Verify(m, At(now)).IsAuthorized);
        var limited = V().Verify(m, At(now));
        Assert.Equal("rate-limit 2/1m", limited.FailedCaveat);
        Assert.True(V().Verify(m, At(now.AddMinutes(1))).IsAuthorized);
        Assert.Equal("max-uses 3", V().Verify(m, At(now.AddMinutes(1))).FailedCaveat);
    }

    [Fact]
    public void RateLimit_CountsPerAlignedWindow()
    {
        var ledger = new UseLedger();
        var m = Token(Caveat.RateLimit(2, TimeSpan.FromSeconds(10)));
        var t = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        int granted = 0;
        for (int s = 0; s < 30; s++)
            if (V().Verify(m, new CaveatContext { Ledger = ledger, Now = t.AddSeconds(s) }).IsAuthorized) granted++;
        Assert.Equal(6, granted); // 2 in each of the windows [0,10), [10,20), [20,30)
    }

    [Fact]
    public void Custom_IsDecidedByItsChecker_AndUnknownWithoutOne()
    {
        var m = Token(Caveat.Custom("tenant", "acme"));
        Assert.True(V().AddCustom("tenant", (v, _) => v == "acme").Verify(m).IsAuthorized);
        Assert.Equal(DenialKind.CaveatNotSatisfied, V().AddCustom("tenant", (v, _) => v == "other").Verify(m).Kind);
        var unknown = V().Verify(m);
        Assert.Equal(DenialKind.UnknownCaveat, unknown.Kind);
        Assert.Contains("tenant", unknown.Reason, StringComparison.Ordinal);
        // The checker sees the context's facts.
        var facts = new CaveatContext { Facts = new Dictionary<string, string> { ["tenant"] = "acme" } };
        Assert.True(V().AddCustom("tenant", (v, c) => c.Facts!["tenant"] == v).Verify(m, facts).IsAuthorized);
    }

    [Fact]
    public void ThrowingCheckers_Deny_InsteadOfEscaping()
    {
        var m = Token(Caveat.Custom("tenant", "acme")).AddFirstPartyCaveat("free text");
        var v = V().AddCustom("tenant", (_, _) => throw new InvalidOperationException("boom"));
        Assert.Equal(DenialKind.CaveatNotSatisfied, v.Verify(m).Kind);
        var v2 = V().AddCustom("tenant", (_, _) => true).SatisfyGeneral(_ => throw new InvalidOperationException("boom"));
        Assert.Equal(DenialKind.UnknownCaveat, v2.Verify(m).Kind);
        var keyThrows = new MacaroonVerifier(_ => throw new InvalidOperationException("store down"));
        Assert.Equal(DenialKind.UnknownRootKey, keyThrows.Verify(m).Kind);
    }

    [Fact]
    public void BuiltInPredicates_CannotBeOverriddenByGeneralCheckers()
    {
        var m = Token(Caveat.TimeBefore(s_t0));
        var permissive = V().SatisfyGeneral(_ => true).SatisfyExact(m.Caveats[0].Text!);
        Assert.False(permissive.Verify(m, new CaveatContext { Now = s_t0.AddDays(1) }).IsAuthorized);
    }

    [Theory]
    [InlineData("max-uses 05")]
    [InlineData("max-uses  5")]
    [InlineData("time-before 2030-01-01")]
    [InlineData("time-before 2030-01-01T00:00:00+01:00")]
    [InlineData("rate-limit 10/60s")]
    [InlineData("region-scope -1")]
    [InlineData("resource-scope ")]
    [InlineData("tenant=acme")]
    [InlineData("time < 2020-01-01T00:00")]
    public void NonCanonicalOrUnknownText_IsNotABuiltInPredicate_AndIsDenied(string text)
    {
        Assert.False(Caveat.TryParse(text, out _));
        var m = Macaroon.Create(s_key, "id-1").AddFirstPartyCaveat(text);
        var r = V().Verify(m, new CaveatContext { Now = s_t0, Ledger = new UseLedger(), Resource = "x", TaskId = 1, RegionPath = [1] });
        Assert.Equal(DenialKind.UnknownCaveat, r.Kind);
    }

    [Fact]
    public void CaveatText_RoundTripsCanonically()
    {
        Caveat[] all =
        [
            Caveat.TimeBefore(new DateTimeOffset(2026, 12, 31, 0, 0, 0, TimeSpan.Zero)),
            Caveat.TimeAfter(new DateTimeOffset(2026, 1, 1, 8, 30, 15, 250, TimeSpan.FromHours(2))),
            Caveat.RegionScope(12), Caveat.TaskScope(7), Caveat.MaxUses(5),
            Caveat.ResourceScope("http:GET:/orders/*"), Caveat.RateLimit(10, TimeSpan.FromSeconds(60)), Caveat.RateLimit(3, TimeSpan.FromMilliseconds(1500)),
            Caveat.Custom("tenant", "acme corp"),
        ];
        string[] expected =
        [
            "time-before 2026-12-31T00:00:00Z", "time-after 2026-01-01T06:30:15.25Z", "region-scope 12", "task-scope 7", "max-uses 5",
            "resource-scope http:GET:/orders/*", "rate-limit 10/1m", "rate-limit 3/1500ms", "tenant = acme corp",
        ];
        Assert.Equal(expected, all.Select(c => c.ToString()));
        foreach (var c in all)
        {
            Assert.True(Caveat.TryParse(c.ToString(), out var back), c.ToString());
            Assert.Equal(c, back);
        }
        Assert.Throws<ArgumentException>(() => Caveat.Custom("max-uses", "1"));
        Assert.Throws<ArgumentException>(() => Caveat.ResourceScope("has space"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Caveat.RateLimit(1, TimeSpan.FromTicks(5)));
    }

    [Fact]
    public void KeyRotation_DeniesTokensOfARemovedKey()
    {
        var keys = new Dictionary<string, byte[]> { ["k1"] = s_key };
        var v = new MacaroonVerifier(id => keys.GetValueOrDefault(Encoding.UTF8.GetString(id.Span)));
        var m = Macaroon.Create(s_key, "k1").Add(Caveat.Custom("tenant", "acme"));
        v.AddCustom("tenant", (_, _) => true);
        Assert.True(v.Verify(m).IsAuthorized);
        keys.Remove("k1");
        var r = v.Verify(m);
        Assert.Equal(DenialKind.UnknownRootKey, r.Kind);
        Assert.Contains("'k1'", r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Denials_NeverContainKeyMaterial()
    {
        var m = Token(Caveat.TimeBefore(s_t0), Caveat.MaxUses(1));
        var wrong = Macaroon.Create(Encoding.UTF8.GetBytes("other"), "id-1", "loc").Attenuate(Caveat.TimeBefore(s_t0));
        foreach (var r in new[] { V().Verify(m), V().Verify(wrong), V().Verify(m, new CaveatContext { Now = s_t0 }) })
        {
            Assert.False(r.IsAuthorized);
            foreach (var secret in new[] { Convert.ToHexStringLower(m.Signature.Span), Convert.ToBase64String(m.Signature.Span), Convert.ToHexStringLower(wrong.Signature.Span), Encoding.UTF8.GetString(s_key) })
                Assert.DoesNotContain(secret, r.Reason, StringComparison.OrdinalIgnoreCase);
        }
        Assert.DoesNotContain(Convert.ToHexStringLower(m.Signature.Span), m.ToString() + m.Inspect(), StringComparison.Ordinal);
    }

    [Fact]
    public void NullToken_IsADenial()
    {
        Assert.Equal(DenialKind.Malformed, V().Verify(null).Kind);
    }

    // ---------------------------------------------------------------- third-party caveats

    private static readonly byte[] s_authKey = Encoding.UTF8.GetBytes("caveat key shared with auth");

    private static Macaroon WithThird(Macaroon m, string id) =>
        m.AddThirdPartyCaveat("https://auth/", s_authKey, Encoding.UTF8.GetBytes(id), new byte[24]);

    [Fact]
    public void ThirdParty_NeedsABoundDischarge_WhoseCaveatsAlsoHold()
    {
        var m = WithThird(Token(), "who = ?");
        var d = Macaroon.Create(s_authKey, "who = ?", "https://auth/").Add(Caveat.TimeBefore(s_t0));
        var v = V();
        Assert.True(v.Verify(m, new CaveatContext { Now = s_t0.AddDays(-1) }, [m.BindDischarge(d)]).IsAuthorized);
        var expired = v.Verify(m, new CaveatContext { Now = s_t0 }, [m.BindDischarge(d)]);
        Assert.Equal(DenialKind.CaveatNotSatisfied, expired.Kind);
        Assert.Equal(d.Caveats[0].Text, expired.FailedCaveat);
        Assert.Equal(DenialKind.MissingDischarge, v.Verify(m, new CaveatContext { Now = s_t0.AddDays(-1) }).Kind);
        // Bound to another token: refused (a discharge cannot be replayed with another token).
        var other = WithThird(Token(Caveat.Custom("x", "y")), "who = ?");
        Assert.Equal(DenialKind.InvalidDischarge, v.Verify(m, new CaveatContext { Now = s_t0.AddDays(-1) }, [other.BindDischarge(d)]).Kind);
        // Minted with the wrong caveat key: refused.
        var forged = Macaroon.Create(Encoding.UTF8.GetBytes("guess"), "who = ?");
        Assert.Equal(DenialKind.InvalidDischarge, v.Verify(m, new CaveatContext { Now = s_t0.AddDays(-1) }, [m.BindDischarge(forged)]).Kind);
    }

    [Fact]
    public void ThirdParty_DischargesCanNeedDischarges_AndEachDischargesOneCaveat()
    {
        var key2 = Encoding.UTF8.GetBytes("second auth key");
        var m = WithThird(Token(), "first");
        var d1 = Macaroon.Create(s_authKey, "first").AddThirdPartyCaveat("https://mfa/", key2, "second"u8, new byte[24]);
        var d2 = Macaroon.Create(key2, "second");
        Assert.True(V().Verify(m, null, [m.BindDischarge(d1), m.BindDischarge(d2)]).IsAuthorized);
        Assert.Equal(DenialKind.MissingDischarge, V().Verify(m, null, [m.BindDischarge(d1)]).Kind);
        // Two caveats with the same id need two discharges: one discharge is not reused.
        var twice = WithThird(WithThird(Token(), "same"), "same");
        var ds = Macaroon.Create(s_authKey, "same");
        Assert.Equal(DenialKind.MissingDischarge, V().Verify(twice, null, [twice.BindDischarge(ds)]).Kind);
        Assert.True(V().Verify(twice, null, [twice.BindDischarge(ds), twice.BindDischarge(ds)]).IsAuthorized);
    }

    [Fact]
    public void ThirdParty_CyclicDischarges_AreDenied_NotLooped()
    {
        var m = WithThird(Token(), "loop");
        // A discharge whose own third-party caveat asks for itself: each discharge is used once, so it is missing.
        var d = Macaroon.Create(s_authKey, "loop").AddThirdPartyCaveat("https://auth/", s_authKey, "loop"u8, new byte[24]);
        var r = V().Verify(m, null, [m.BindDischarge(d)]);
        Assert.Equal(DenialKind.MissingDischarge, r.Kind);
    }
}

public class AllocationTests
{
    [Fact]
    public void AuthorizedVerification_AllocatesNothing_OnceTheTokenIsParsed()
    {
        var key = Encoding.UTF8.GetBytes("allocation test key");
        var m = Macaroon.Create(key, "id").Attenuate(
            Caveat.TimeBefore(new DateTimeOffset(2040, 1, 1, 0, 0, 0, TimeSpan.Zero)), Caveat.ResourceScope("http:GET:/orders/*"),
            Caveat.RegionScope(1), Caveat.TaskScope(7), Caveat.Custom("tenant", "acme")).AddFirstPartyCaveat("exact one");
        var v = new MacaroonVerifier(key).AddCustom("tenant", (x, _) => x == "acme").SatisfyExact("exact one");
        var ctx = new CaveatContext { Now = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), Resource = "http:GET:/orders/42", TaskId = 7, RegionPath = [3, 1] };
        Assert.True(v.Verify(m, ctx).IsAuthorized); // warm: caveat texts decoded and parsed once per token
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
            if (!v.Verify(m, ctx).IsAuthorized) Assert.Fail("must verify");
        long per = (GC.GetAllocatedBytesForCurrentThread() - before) / 1000;
        Assert.True(per == 0, $"{per} bytes per verification");
    }
}
