using System.Security.Cryptography;
using Asupersync.Macaroons.Crypto;

namespace Asupersync.Macaroons;

/// <summary>
/// Verifies macaroons minted with a root key it knows: recomputes the HMAC chain (constant-time comparison, no early
/// exit), checks every caveat against a <see cref="CaveatContext"/>, and every third-party caveat against a discharge
/// bound to the token. Fails closed: a malformed token, an unknown key, a caveat it has no checker for, a missing or
/// unbound discharge, a checker that throws — each is a denial with a reason, never an exception and never success.
/// </summary>
/// <remarks>
/// <para>Configure it (<see cref="SatisfyExact"/>, <see cref="SatisfyGeneral"/>, <see cref="AddCustom"/>) before sharing
/// it; verification itself is thread-safe and allocates nothing when the token is authorized and has no third-party
/// caveats.</para>
/// <para>The built-in predicates (<see cref="Caveat"/>) are decided by the verifier itself and cannot be overridden;
/// other first-party caveats hold when they equal a <see cref="SatisfyExact"/> predicate, when the checker registered for
/// their custom key accepts them, or when a <see cref="SatisfyGeneral"/> callback accepts them (pymacaroons'
/// semantics).</para>
/// </remarks>
/// <example><code>
/// var verifier = new MacaroonVerifier(rootKey).AddCustom("tenant", (value, ctx) => value == "acme");
/// var verdict = verifier.Verify(token, new CaveatContext { Now = now, Resource = "http:GET:/orders/42" });
/// if (!verdict.IsAuthorized) return Forbidden(verdict.Reason);
/// </code></example>
public sealed class MacaroonVerifier
{
    /// <summary>The deepest chain of discharges (a discharge's third-party caveats need discharges too) accepted.</summary>
    public const int MaxDischargeDepth = 8;

    private readonly Func<ReadOnlyMemory<byte>, byte[]?> _rootKeyFor;
    private readonly HashSet<string> _exact = new(StringComparer.Ordinal);
    private readonly List<Func<string, bool>> _general = [];
    private readonly Dictionary<string, Func<string, CaveatContext, bool>> _custom = new(StringComparer.Ordinal);

    /// <summary>A verifier for tokens minted with one root key.</summary>
    /// <param name="rootKey">The root key (as given to <see cref="Macaroon.Create(ReadOnlySpan{byte}, string, string)"/>).</param>
    public MacaroonVerifier(ReadOnlySpan<byte> rootKey)
    {
        var key = rootKey.ToArray();
        _rootKeyFor = _ => key;
        _singleDerived = new byte[MacaroonCrypto.SignatureLength];
        MacaroonCrypto.DeriveKey(key, _singleDerived);
    }

    private readonly byte[]? _singleDerived; // one root key: derived once, not per verification

    /// <summary>
    /// A verifier that looks the root key up by the token's identifier — key rotation: remove a key and every token
    /// minted with it (and every token derived from those) is denied as <see cref="DenialKind.UnknownRootKey"/>.
    /// </summary>
    /// <param name="rootKeyFor">The root key for an identifier, or null when unknown. It must not throw (a throw is a denial).</param>
    public MacaroonVerifier(Func<ReadOnlyMemory<byte>, byte[]?> rootKeyFor)
    {
        _rootKeyFor = rootKeyFor ?? throw new ArgumentNullException(nameof(rootKeyFor));
    }

    /// <summary>Accepts a first-party caveat whose text is exactly <paramref name="predicate"/> (not for built-in predicates).</summary>
    /// <param name="predicate">The caveat text.</param>
    /// <returns>This verifier.</returns>
    public MacaroonVerifier SatisfyExact(string predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        _exact.Add(predicate);
        return this;
    }

    /// <summary>Accepts the first-party caveats for which <paramref name="check"/> returns true (not for built-in predicates).</summary>
    /// <param name="check">The callback; an exception from it denies the caveat.</param>
    /// <returns>This verifier.</returns>
    public MacaroonVerifier SatisfyGeneral(Func<string, bool> check)
    {
        ArgumentNullException.ThrowIfNull(check);
        _general.Add(check);
        return this;
    }

    /// <summary>Registers the checker for custom caveats <c>key = value</c>.</summary>
    /// <param name="key">The custom key.</param>
    /// <param name="check">Receives the value and the context; true when the caveat holds. An exception denies.</param>
    /// <returns>This verifier.</returns>
    public MacaroonVerifier AddCustom(string key, Func<string, CaveatContext, bool> check)
    {
        if (!CustomCaveat.IsValidKey(key)) throw new ArgumentException($"'{key}' is not a custom caveat key.", nameof(key));
        ArgumentNullException.ThrowIfNull(check);
        _custom[key] = check;
        return this;
    }

    /// <summary>Verifies <paramref name="macaroon"/> with its bound <paramref name="discharges"/> in <paramref name="context"/>.</summary>
    /// <param name="macaroon">The token (null is a denial).</param>
    /// <param name="context">The facts caveats are checked against (null: no facts, so every fact-dependent caveat denies).</param>
    /// <param name="discharges">Discharges for its third-party caveats, each bound with <see cref="Macaroon.BindDischarge"/>.</param>
    /// <returns>The verdict. Counted caveats (<c>max-uses</c>, <c>rate-limit</c>) consume a use only when the verdict is authorized.</returns>
    public VerificationResult Verify(Macaroon? macaroon, CaveatContext? context = null, IReadOnlyList<Macaroon>? discharges = null) =>
        Verify(macaroon, context ?? s_empty, discharges, bindingPrefix: -1, leases: null);

    private static readonly CaveatContext s_empty = new();

    /// <summary>
    /// The verification the runtime uses. <paramref name="bindingPrefix"/> ≥ 0: the discharges are bound to the chain
    /// signature after that many caveats (the token as received, before the runtime attenuated it); the verifier
    /// computes that signature itself, so this grants nothing the received token did not. <paramref name="leases"/>:
    /// when not null, granted counted uses are added to it instead of being final (the caller may give them back).
    /// </summary>
    internal VerificationResult Verify(Macaroon? macaroon, CaveatContext context, IReadOnlyList<Macaroon>? discharges, int bindingPrefix, List<UseLedger.Lease>? leases)
    {
        if (macaroon is null) return VerificationResult.Denied(DenialKind.Malformed, "no token");
        try
        {
            return VerifyCore(macaroon, context, discharges, bindingPrefix, leases);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Fail closed: nothing that goes wrong while verifying can read as success.
            return VerificationResult.Denied(DenialKind.Malformed, "verification failed: " + e.GetType().Name);
        }
    }

    private struct Pending
    {
        internal Macaroon Discharge;
        internal byte[] Key;
        internal int Depth;
        internal string Caveat;
    }

    private struct Counted
    {
        internal Caveat Caveat;
        internal CounterKey Key;
    }

    private VerificationResult VerifyCore(Macaroon root, CaveatContext ctx, IReadOnlyList<Macaroon>? discharges, int bindingPrefix, List<UseLedger.Lease>? leases)
    {
        byte[]? rootKey;
        try
        {
            rootKey = _rootKeyFor(root.Identifier);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return VerificationResult.Denied(DenialKind.UnknownRootKey, "the root key lookup failed: " + e.GetType().Name);
        }
        if (rootKey is null) return VerificationResult.Denied(DenialKind.UnknownRootKey, $"no root key for identifier '{Display(root.IdentifierArray)}' (unknown or rotated)");
        if (bindingPrefix > root.CaveatArray.Length) return VerificationResult.Denied(DenialKind.Malformed, "binding prefix past the end of the chain");

        Span<byte> derived = stackalloc byte[MacaroonCrypto.SignatureLength];
        if (_singleDerived is not null) _singleDerived.CopyTo(derived);
        else MacaroonCrypto.DeriveKey(rootKey, derived);
        Span<byte> bindSig = stackalloc byte[MacaroonCrypto.SignatureLength];
        if (bindingPrefix < 0) root.SignatureSpan.CopyTo(bindSig);

        VerificationResult? denial = null;
        List<Pending>? pending = null;
        List<Counted>? counted = null;
        bool[]? used = null;

        bool rootOk = Chain(root, derived, ctx, discharges, bindingPrefix, bindSig, depth: 0, ref denial, ref pending, ref counted, ref used);
        CryptographicOperations.ZeroMemory(derived);
        if (!rootOk) return VerificationResult.Denied(DenialKind.SignatureMismatch, "signature does not match (wrong key, or the token was altered)");

        // Discharges: after the root chain, when the binding signature is known.
        for (int i = 0; pending is not null && i < pending.Count; i++)
        {
            var p = pending[i];
            if (p.Depth > MaxDischargeDepth) return VerificationResult.Denied(DenialKind.InvalidDischarge, $"discharges nested deeper than {MaxDischargeDepth}");
            VerificationResult? sub = null;
            bool ok = Chain(p.Discharge, p.Key, ctx, discharges, -2, bindSig, p.Depth, ref sub, ref pending, ref counted, ref used);
            CryptographicOperations.ZeroMemory(p.Key);
            if (!ok) return VerificationResult.Denied(DenialKind.InvalidDischarge, $"the discharge for {p.Caveat} does not verify (not bound to this token, or altered)", p.Caveat);
            denial ??= sub;
        }
        if (denial is not null) return denial;
        if (counted is null) return VerificationResult.Authorized;

        // Every stateless check passed: take the counted uses, all or none.
        var ledger = ctx.Ledger!;
        var taken = leases ?? new List<UseLedger.Lease>(counted.Count);
        int start = taken.Count;
        foreach (var c in counted)
        {
            bool ok;
            UseLedger.Lease lease;
            if (c.Caveat is MaxUsesCaveat mu) ok = ledger.TryUse(c.Key, mu.Count, out lease);
            else
            {
                var rl = (RateLimitCaveat)c.Caveat;
                ok = ledger.TryRate(c.Key, rl.Count, rl.Window.Ticks, ctx.Now!.Value.UtcTicks, out lease);
            }
            if (!ok)
            {
                for (int j = taken.Count - 1; j >= start; j--) taken[j].Release();
                taken.RemoveRange(start, taken.Count - start);
                var text = c.Caveat.ToString();
                return VerificationResult.Denied(DenialKind.LimitReached, c.Caveat is MaxUsesCaveat ? $"caveat '{text}': all uses are spent" : $"caveat '{text}': the limit for the current window is reached", text);
            }
            taken.Add(lease);
        }
        return VerificationResult.Authorized;
    }

    /// <summary>
    /// Walks one chain: computes its signature, checks its first-party caveats, queues its third-party caveats'
    /// discharges. Returns whether the signature matches (for a discharge: after binding). The comparison is
    /// constant-time and the whole chain is always computed, whatever fails first.
    /// </summary>
    private bool Chain(Macaroon m, ReadOnlySpan<byte> key, CaveatContext ctx, IReadOnlyList<Macaroon>? discharges, int bindingPrefix, Span<byte> bindSig, int depth,
        ref VerificationResult? denial, ref List<Pending>? pending, ref List<Counted>? counted, ref bool[]? used)
    {
        Span<byte> a = stackalloc byte[MacaroonCrypto.SignatureLength];
        Span<byte> b = stackalloc byte[MacaroonCrypto.SignatureLength];
        MacaroonCrypto.Hmac(key, m.IdentifierSpan, a);
        var caveats = m.CaveatArray;
        for (int i = 0; i < caveats.Length; i++)
        {
            if (i == bindingPrefix) a.CopyTo(bindSig);
            var c = caveats[i];
            if (c.IsThirdParty)
            {
                var caveatKey = new byte[MacaroonCrypto.SignatureLength];
                var vid = c.VidSpan;
                if (vid.Length != SecretBox.Overhead + MacaroonCrypto.SignatureLength || !SecretBox.TryOpen(a, vid, caveatKey))
                {
                    denial ??= VerificationResult.Denied(DenialKind.InvalidDischarge, $"{Describe(c, i)}: its verification id does not decrypt (the token was altered)");
                }
                else if (FindDischarge(c, discharges, ref used) is not { } d)
                {
                    denial ??= VerificationResult.Denied(DenialKind.MissingDischarge, $"{Describe(c, i)}: no discharge macaroon for it");
                }
                else
                {
                    (pending ??= []).Add(new Pending { Discharge = d, Key = caveatKey, Depth = depth + 1, Caveat = Describe(c, i) });
                }
                MacaroonCrypto.Hmac2(a, c.VidSpan, c.IdSpan, b);
            }
            else
            {
                MacaroonCrypto.Hmac(a, c.IdSpan, b);
                if (denial is null) CheckFirstParty(c, b, ctx, ref denial, ref counted);
            }
            var t = a;
            a = b;
            b = t;
        }
        if (bindingPrefix == caveats.Length) a.CopyTo(bindSig);
        if (bindingPrefix == -2)
        {
            // A discharge: its signature is bound to the authorizing token's.
            MacaroonCrypto.Bind(bindSig, a, b);
            return CryptographicOperations.FixedTimeEquals(b, m.SignatureSpan);
        }
        return CryptographicOperations.FixedTimeEquals(a, m.SignatureSpan);
    }

    private static Macaroon? FindDischarge(MacaroonCaveat c, IReadOnlyList<Macaroon>? discharges, ref bool[]? used)
    {
        if (discharges is null) return null;
        for (int i = 0; i < discharges.Count; i++)
        {
            var d = discharges[i];
            if (d is null || !d.IdentifierSpan.SequenceEqual(c.IdSpan)) continue;
            used ??= new bool[discharges.Count];
            if (used[i]) continue; // each discharge discharges one caveat: no cycles, no reuse
            used[i] = true;
            return d;
        }
        return null;
    }

    private void CheckFirstParty(MacaroonCaveat c, ReadOnlySpan<byte> sigAfter, CaveatContext ctx, ref VerificationResult? denial, ref List<Counted>? counted)
    {
        var text = c.Text;
        if (text is null)
        {
            denial = VerificationResult.Denied(DenialKind.UnknownCaveat, "a first-party caveat that is not UTF-8 text has no checker");
            return;
        }
        switch (c.Predicate)
        {
            case TimeBeforeCaveat tb:
                if (ctx.Now is not { } now1) denial = Unmet(text, "no clock in the context");
                else if (!(now1 < tb.Deadline)) denial = Unmet(text, $"expired (now {Caveat.FormatTime(now1)})");
                return;
            case TimeAfterCaveat ta:
                if (ctx.Now is not { } now2) denial = Unmet(text, "no clock in the context");
                else if (!(now2 > ta.Start)) denial = Unmet(text, $"not valid yet (now {Caveat.FormatTime(now2)})");
                return;
            case RegionScopeCaveat rs:
                switch (ctx.InRegion(rs.RegionId))
                {
                    case null: denial = Unmet(text, "no region identity in the context"); break;
                    case false: denial = Unmet(text, "the acting task is not in that region or below it"); break;
                }
                return;
            case TaskScopeCaveat ts:
                if (ctx.TaskId is not { } task) denial = Unmet(text, "no task identity in the context");
                else if (task != ts.TaskId) denial = Unmet(text, $"the acting task is task {task}");
                return;
            case ResourceScopeCaveat rsc:
                if (ctx.Resource is not { } resource) denial = Unmet(text, "the operation names no resource");
                else if (!rsc.Matches(resource)) denial = Unmet(text, $"resource '{resource}' is outside it");
                return;
            case MaxUsesCaveat or RateLimitCaveat:
                if (ctx.Ledger is null) denial = Unmet(text, "no use ledger in the context to count uses");
                else if (ctx.Now is null && c.Predicate is RateLimitCaveat) denial = Unmet(text, "no clock in the context");
                else (counted ??= []).Add(new Counted { Caveat = c.Predicate!, Key = CounterKey.From(sigAfter) });
                return;
            case CustomCaveat cc:
                if (_exact.Contains(text)) return;
                if (_custom.TryGetValue(cc.Key, out var check))
                {
                    bool holds;
                    try
                    {
                        holds = check(cc.Value, ctx);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        holds = false;
                    }
                    if (!holds) denial = Unmet(text, "the checker for '" + cc.Key + "' refused it");
                    return;
                }
                if (General(text)) return;
                denial = VerificationResult.Denied(DenialKind.UnknownCaveat, $"caveat '{text}': no checker for custom key '{cc.Key}'", text);
                return;
            default:
                if (_exact.Contains(text) || General(text)) return;
                denial = VerificationResult.Denied(DenialKind.UnknownCaveat, $"caveat '{text}': not a known predicate and no checker accepts it", text);
                return;
        }
    }

    private bool General(string text)
    {
        foreach (var g in _general)
        {
            try
            {
                if (g(text)) return true;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // a throwing checker accepts nothing
            }
        }
        return false;
    }

    private static VerificationResult Unmet(string text, string why) =>
        VerificationResult.Denied(DenialKind.CaveatNotSatisfied, $"caveat '{text}' not satisfied: {why}", text);

    private static string Describe(MacaroonCaveat c, int index) => $"third-party caveat {index} at '{c.Location}'";

    private static string Display(byte[] bytes)
    {
        var s = MacaroonCaveat.Describe(bytes);
        return s.Length <= 64 ? s : s[..64] + "…";
    }
}
