using System.Globalization;
using Asupersync.Http;

namespace Asupersync.Macaroons.Http;

/// <summary>Settings of <see cref="MacaroonAuthorization"/>.</summary>
public sealed record MacaroonAuthorizationOptions
{
    /// <summary>The realm named in <c>WWW-Authenticate</c> (default <c>asupersync</c>).</summary>
    public string Realm { get; init; } = "asupersync";

    /// <summary>The ledger that counts <c>max-uses</c>/<c>rate-limit</c> uses; null (default): the runtime's ledger, shared with the tokens tasks carry.</summary>
    public UseLedger? Ledger { get; init; }

    /// <summary>The resource a request names (default <c>http:&lt;METHOD&gt;:&lt;path&gt;</c>, e.g. <c>http:GET:/orders/42</c>).</summary>
    public Func<HttpRequest, string> ResourceFor { get; init; } = static r => "http:" + r.Method + ":" + r.Path;

    /// <summary>
    /// When true, the handler runs with the bearer's token attached to its Cx (<see cref="CapabilityCx.WithCapability"/>),
    /// so what the handler does on the caller's behalf is checked against the caller's token too. Default false.
    /// </summary>
    public bool AttachToHandler { get; init; }
}

/// <summary>
/// HTTP middleware: a route wrapped with <see cref="Protect"/> runs only for requests that carry
/// <c>Authorization: Bearer &lt;macaroon&gt;[,&lt;discharge&gt;…]</c> (base64 binary v1/v2 separated by commas, or
/// one JSON macaroon, or a JSON array of JSON macaroons with the root first; discharges bound to the macaroon) that verifies for this request. The caveat context is the request: resource
/// <c>http:&lt;METHOD&gt;:&lt;path&gt;</c>, the runtime clock, the request task's identity, and the facts
/// <c>method</c>, <c>path</c> and <c>client</c> (the peer's IP address) for custom checkers.
/// </summary>
/// <remarks>
/// <para>Answers (RFC 6750): no or non-Bearer credentials → 401 with <c>WWW-Authenticate: Bearer realm="…"</c>; a token
/// that does not parse, has an unknown key, a wrong signature or a missing/unbound discharge → 401
/// <c>error="invalid_token"</c>; a genuine token whose caveats do not allow this request → 403
/// <c>error="insufficient_scope"</c> with the failed caveat. Reasons name caveats, never key material or signatures.</para>
/// </remarks>
/// <example><code>
/// var auth = new MacaroonAuthorization(new MacaroonVerifier(rootKey));
/// var router = new HttpRouter().MapGet("/orders", auth.Protect((cx, req) => Task.FromResult(HttpResponse.Text("[]"))));
/// </code></example>
public sealed class MacaroonAuthorization
{
    /// <summary>Creates the middleware.</summary>
    /// <param name="verifier">The verifier (root keys and checkers).</param>
    /// <param name="options">Settings; null for the defaults.</param>
    public MacaroonAuthorization(MacaroonVerifier verifier, MacaroonAuthorizationOptions? options = null)
    {
        Verifier = verifier ?? throw new ArgumentNullException(nameof(verifier));
        Options = options ?? new MacaroonAuthorizationOptions();
    }

    /// <summary>The verifier.</summary>
    public MacaroonVerifier Verifier { get; }

    /// <summary>The settings.</summary>
    public MacaroonAuthorizationOptions Options { get; }

    /// <summary>Wraps a handler: it runs only for authorized requests.</summary>
    /// <param name="handler">The route's handler.</param>
    /// <returns>The protected handler.</returns>
    public HttpHandler Protect(HttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return (cx, request) =>
        {
            var (verdict, token, discharges) = Authorize(cx, request);
            if (verdict.IsAuthorized)
            {
                var inner = Options.AttachToHandler ? cx.WithCapability(Verifier, token!, discharges) : cx;
                return handler(inner, request);
            }
            return Task.FromResult(Deny(verdict));
        };
    }

    /// <summary>Verifies a request's bearer token without running a handler.</summary>
    /// <param name="cx">The request task's context.</param>
    /// <param name="request">The request.</param>
    /// <returns>The verdict (an authorized one counted a use).</returns>
    public VerificationResult Check(Cx cx, HttpRequest request) => Authorize(cx, request).Verdict;

    private (VerificationResult Verdict, Macaroon? Token, Macaroon[] Discharges) Authorize(Cx cx, HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.CountOf("Authorization") != 1)
            return (VerificationResult.Denied(DenialKind.Malformed, request.Headers.CountOf("Authorization") == 0 ? "no credentials" : "more than one Authorization field"), null, []);
        var header = request.Headers["Authorization"]!.Trim();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return (VerificationResult.Denied(DenialKind.Malformed, "credentials are not a Bearer token"), null, []);
        var parts = SplitCredentials(header["Bearer ".Length..].Trim());
        if (parts is null) return (VerificationResult.Denied(DenialKind.Malformed, "malformed token: not a JSON array of macaroons"), null, []);
        if (parts.Length == 0 || parts.Length > 1 + MacaroonVerifier.MaxDischargeDepth * 4)
            return (VerificationResult.Denied(DenialKind.Malformed, "no token, or too many discharges"), null, []);
        var tokens = new Macaroon[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!Macaroon.TryParse(parts[i], out var m, out var error))
                return (VerificationResult.Denied(DenialKind.Malformed, (i == 0 ? "malformed token: " : $"malformed discharge {i}: ") + error), null, []);
            tokens[i] = m!;
        }
        var facts = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["method"] = request.Method,
            ["path"] = request.Path,
            ["client"] = request.RemoteEndPoint?.Address.ToString() ?? "",
        };
        var ctx = CaveatContext.ForRuntime(cx, Options.ResourceFor(request), facts, Options.Ledger);
        var discharges = tokens[1..];
        return (Verifier.Verify(tokens[0], ctx, discharges), tokens[0], discharges);
    }

    // base64 tokens separated by commas; or one JSON macaroon; or a JSON array of macaroons (root first).
    internal static string[]? SplitCredentials(string value)
    {
        if (value.StartsWith('{')) return [value];
        if (!value.StartsWith('[')) return value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (value.Length > 4 * 64 * 1024) return null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(value, new System.Text.Json.JsonDocumentOptions { MaxDepth = 8 });
            if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Array) return null;
            return [.. doc.RootElement.EnumerateArray().Select(e => e.GetRawText())];
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private HttpResponse Deny(VerificationResult verdict)
    {
        bool invalid = verdict.Kind is DenialKind.Malformed or DenialKind.UnknownRootKey or DenialKind.SignatureMismatch or DenialKind.MissingDischarge or DenialKind.InvalidDischarge;
        bool noCredentials = verdict.Reason is "no credentials" or "credentials are not a Bearer token";
        int status = invalid ? 401 : 403;
        var reason = verdict.Reason ?? "denied";
        var response = HttpResponse.Text((status == 401 ? "Unauthorized: " : "Forbidden: ") + reason + "\n", status);
        var challenge = string.Create(CultureInfo.InvariantCulture, $"Bearer realm=\"{Quote(Options.Realm)}\"");
        if (!noCredentials)
            challenge += string.Create(CultureInfo.InvariantCulture, $", error=\"{(invalid ? "invalid_token" : "insufficient_scope")}\", error_description=\"{Quote(reason)}\"");
        response.Headers.Add("WWW-Authenticate", challenge);
        return response;
    }

    // error_description allows %x20-21 / %x23-5B / %x5D-7E only (RFC 6750 §3).
    private static string Quote(string s)
    {
        var chars = s.Select(c => c is >= ' ' and <= '~' && c is not '"' and not '\\' ? c : '?').ToArray();
        var t = new string(chars);
        return t.Length <= 200 ? t : t[..200];
    }
}
