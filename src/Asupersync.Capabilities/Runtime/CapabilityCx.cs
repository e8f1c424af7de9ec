namespace Asupersync.Macaroons;

/// <summary>
/// Capability tokens on a <see cref="Cx"/>: attach a macaroon, hand a child a narrower one, and check user-defined
/// resources. A Cx that carries tokens is checked by the runtime where effects happen: <c>net:bind:&lt;endpoint&gt;</c>
/// and <c>net:connect:&lt;endpoint&gt;</c> (TCP), <c>http:&lt;METHOD&gt;:&lt;path&gt;</c> (routes served by an
/// <c>HttpRouter</c>), and any resource named with <see cref="Demand"/>. A denial raises
/// <see cref="CapabilityDeniedException"/> naming the failed caveat; in the Lab it is also an AmbientAuthority finding.
/// A Cx without tokens is governed by its capability bits only.
/// </summary>
/// <example><code>
/// var cx2 = cx.WithCapability(verifier, token);                    // from now on, effects through cx2 are checked
/// var worker = cx2.Spawn("worker", async w =>
/// {
///     await using var db = await w.TcpConnectAsync("127.0.0.1:5432"); // checked: net:connect:127.0.0.1:5432
///     w.Demand("app:reports:read");                                // a user-defined resource
/// }, attenuate: t => t.Add(Caveat.MaxUses(10)).Add(Caveat.TimeBefore(deadline)));
/// </code></example>
public static class CapabilityCx
{
    /// <summary>
    /// The same task's Cx, governed by <paramref name="token"/>: every effect that names a resource must be authorized
    /// by it (and by any token the Cx already carries — attaching never widens). Tasks spawned from the returned Cx
    /// inherit it.
    /// </summary>
    /// <param name="cx">The context.</param>
    /// <param name="verifier">A verifier that knows the token's root key (and has the checkers for its custom caveats).</param>
    /// <param name="token">The token.</param>
    /// <param name="discharges">Discharges for its third-party caveats, bound to <paramref name="token"/> (<see cref="Macaroon.BindDischarge"/>).</param>
    /// <returns>The governed Cx.</returns>
    public static Cx WithCapability(this Cx cx, MacaroonVerifier verifier, Macaroon token, IReadOnlyList<Macaroon>? discharges = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(token);
        var outer = cx.Authority as TokenAuthority;
        if (cx.Authority is not null && outer is null) throw new InvalidOperationException("This Cx is governed by another kind of authority.");
        return cx.WithAuthority(new TokenAuthority(outer, verifier, token, discharges?.ToArray() ?? [], token.Caveats.Count));
    }

    /// <summary>True when the Cx carries capability tokens (effects are checked against them).</summary>
    /// <param name="cx">The context.</param>
    /// <returns>Whether it is governed.</returns>
    public static bool CarriesTokens(this Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        return cx.Authority is TokenAuthority;
    }

    /// <summary>The tokens the Cx carries, innermost (most recently attached) first; empty when it carries none.</summary>
    /// <param name="cx">The context.</param>
    /// <returns>The tokens.</returns>
    public static IReadOnlyList<Macaroon> Tokens(this Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        return cx.Authority is TokenAuthority a ? [.. a.Tokens()] : [];
    }

    /// <summary>
    /// The same task's Cx with <paramref name="caveats"/> added to every token it carries. Needs a Cx that carries
    /// tokens (an ungoverned Cx has nothing to attenuate: attach one with <see cref="WithCapability"/> first).
    /// </summary>
    /// <param name="cx">The context.</param>
    /// <param name="caveats">First-party caveats to add.</param>
    /// <returns>The narrower Cx.</returns>
    public static Cx Attenuate(this Cx cx, params Caveat[] caveats)
    {
        ArgumentNullException.ThrowIfNull(caveats);
        return cx.WithAuthority(Governing(cx).Attenuated(t => t.Attenuate(caveats)));
    }

    /// <summary>
    /// Spawns a child whose tokens are this Cx's tokens passed through <paramref name="attenuate"/>, which may only add
    /// first-party caveats (checked: anything else throws <see cref="ArgumentException"/>).
    /// </summary>
    /// <typeparam name="T">The task's result.</typeparam>
    /// <param name="cx">The parent's context (it must carry tokens).</param>
    /// <param name="name">The task's name.</param>
    /// <param name="body">The task body.</param>
    /// <param name="attenuate">Adds caveats to each token, e.g. <c>t =&gt; t.Add(Caveat.MaxUses(3))</c>.</param>
    /// <param name="budget">The task's budget.</param>
    /// <returns>The task's handle.</returns>
    public static TaskHandle<T> Spawn<T>(this Cx cx, string name, Func<Cx, Task<T>> body, Func<Macaroon, Macaroon> attenuate, Budget budget = default)
    {
        ArgumentNullException.ThrowIfNull(attenuate);
        return cx.WithAuthority(Governing(cx).Attenuated(attenuate)).Spawn(name, body, budget);
    }

    /// <summary>Spawns a child without a result with attenuated tokens; see <see cref="Spawn{T}(Cx, string, Func{Cx, Task{T}}, Func{Macaroon, Macaroon}, Budget)"/>.</summary>
    /// <param name="cx">The parent's context (it must carry tokens).</param>
    /// <param name="name">The task's name.</param>
    /// <param name="body">The task body.</param>
    /// <param name="attenuate">Adds caveats to each token.</param>
    /// <param name="budget">The task's budget.</param>
    /// <returns>The task's handle.</returns>
    public static TaskHandle<Unit> Spawn(this Cx cx, string name, Func<Cx, Task> body, Func<Macaroon, Macaroon> attenuate, Budget budget = default)
    {
        ArgumentNullException.ThrowIfNull(attenuate);
        return cx.WithAuthority(Governing(cx).Attenuated(attenuate)).Spawn(name, body, budget);
    }

    /// <summary>
    /// Checks a use of a user-defined resource (for example <c>app:reports:read</c>) against the tokens the Cx carries;
    /// a Cx without tokens passes. An authorized use counts against <c>max-uses</c>/<c>rate-limit</c> caveats.
    /// </summary>
    /// <param name="cx">The acting context.</param>
    /// <param name="resource">The resource name (<c>:</c>-separated, see <see cref="ResourceGlob"/>).</param>
    /// <exception cref="CapabilityDeniedException">The tokens do not authorize it.</exception>
    public static void Demand(this Cx cx, string resource)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(resource);
        cx.DemandResource(resource);
    }

    /// <summary>Like <see cref="Demand"/>, without throwing: the verdict (authorized when the Cx carries no tokens).</summary>
    /// <param name="cx">The acting context.</param>
    /// <param name="resource">The resource name.</param>
    /// <returns>The verdict; an authorized one counted a use.</returns>
    public static VerificationResult TryDemand(this Cx cx, string resource)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(resource);
        return cx.AuthorizeResource(resource) is CapabilityDeniedException denied ? denied.Verdict : VerificationResult.Authorized;
    }

    private static TokenAuthority Governing(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        return cx.Authority as TokenAuthority
            ?? throw new InvalidOperationException($"Task '{cx.TaskName}' carries no capability token to attenuate; attach one with WithCapability first.");
    }
}
