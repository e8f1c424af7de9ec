using Asupersync.Kernel;

namespace Asupersync.Macaroons;

/// <summary>
/// The runtime side of capability tokens: a chain of layers, each a token (with its discharges) and the verifier that
/// knows its root key. An effect is allowed when <em>every</em> layer authorizes it, so attaching a token to a Cx that
/// already carries one can only narrow it. Checks run where the effect happens, against the runtime's clock (virtual
/// in the Lab), the acting task's identity and the runtime's use ledger; counted uses are all-or-nothing across layers.
/// </summary>
internal sealed class TokenAuthority : TaskAuthority
{
    internal TokenAuthority(TokenAuthority? outer, MacaroonVerifier verifier, Macaroon token, Macaroon[] discharges, int bindingPrefix)
    {
        Outer = outer;
        Verifier = verifier;
        Token = token;
        Discharges = discharges;
        BindingPrefix = bindingPrefix;
        // Every token derived from one root identifier may share counters: one object for the Lab's dependency
        // tracking (an over-approximation, so DPOR never treats two racing uses of a counter as independent).
        ulong h = 14695981039346656037UL;
        foreach (byte b in token.Identifier.Span) h = (h ^ b) * 1099511628211UL;
        _ledgerObject = (long)(h | 1);
    }

    private readonly long _ledgerObject;

    internal TokenAuthority? Outer { get; }

    internal MacaroonVerifier Verifier { get; }

    internal Macaroon Token { get; }

    internal Macaroon[] Discharges { get; }

    /// <summary>The caveat count of the token as attached: its discharges are bound to the chain at that point.</summary>
    internal int BindingPrefix { get; }

    internal override Exception? Check(Cx cx, string resource)
    {
        var verdict = Authorize(cx, resource);
        return verdict.IsAuthorized ? null : new CapabilityDeniedException(cx.TaskName, resource, verdict);
    }

    internal VerificationResult Authorize(Cx cx, string resource)
    {
        var ctx = CaveatContext.ForRuntime(cx, resource);
        var leases = new List<UseLedger.Lease>();
        var observer = cx.Task.Runtime.Observer;
        for (var layer = this; layer is not null; layer = layer.Outer)
        {
            observer?.OnAccess(layer._ledgerObject, "capability-ledger");
            var verdict = layer.Verifier.Verify(layer.Token, ctx, layer.Discharges, layer.BindingPrefix, leases);
            if (!verdict.IsAuthorized)
            {
                foreach (var l in leases) l.Release();
                return verdict;
            }
        }
        return VerificationResult.Authorized;
    }

    /// <summary>The same chain with every layer's token replaced by <paramref name="attenuate"/>(token), checked to be a first-party extension.</summary>
    internal TokenAuthority Attenuated(Func<Macaroon, Macaroon> attenuate)
    {
        var outer = Outer?.Attenuated(attenuate);
        var next = attenuate(Token) ?? throw new InvalidOperationException("The attenuation returned no token.");
        if (!next.IsFirstPartyExtensionOf(Token))
            throw new ArgumentException("An attenuation may only add first-party caveats to the token it is given (it returned a token that is not such an extension).", nameof(attenuate));
        return new TokenAuthority(outer, Verifier, next, Discharges, BindingPrefix);
    }

    internal IEnumerable<Macaroon> Tokens()
    {
        for (var a = this; a is not null; a = a.Outer) yield return a.Token;
    }
}
