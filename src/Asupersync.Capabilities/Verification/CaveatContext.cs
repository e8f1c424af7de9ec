using Asupersync.Kernel;

namespace Asupersync.Macaroons;

/// <summary>
/// The facts a verification checks caveats against: the time, who acts (task, region), the resource the operation
/// names, the ledger that counts uses, and application facts (an HTTP request's method, path and client). A fact
/// that a caveat needs and the context lacks denies that caveat (fail closed).
/// </summary>
public sealed class CaveatContext
{
    private RegionCore? _region;

    /// <summary>The current time (the runtime clock for runtime checks; virtual in the Lab).</summary>
    public DateTimeOffset? Now { get; init; }

    /// <summary>The acting task's id.</summary>
    public long? TaskId { get; init; }

    /// <summary>The acting task's region id followed by its ancestors' ids, innermost first.</summary>
    public IReadOnlyList<long>? RegionPath { get; init; }

    /// <summary>The resource the operation names (<c>net:connect:127.0.0.1:5432</c>, <c>http:GET:/orders/42</c>, …), or null.</summary>
    public string? Resource { get; init; }

    /// <summary>The ledger that counts <c>max-uses</c> and <c>rate-limit</c> uses; without one such caveats deny.</summary>
    public UseLedger? Ledger { get; init; }

    /// <summary>Application facts for custom checkers (for HTTP: <c>method</c>, <c>path</c>, <c>client</c>).</summary>
    public IReadOnlyDictionary<string, string>? Facts { get; init; }

    /// <summary>A context for a check made by (or on behalf of) <paramref name="cx"/>: the runtime's clock, the task's identity and the runtime's ledger.</summary>
    /// <remarks>Needs <see cref="Capabilities.Time"/>: the context carries the runtime clock (<see cref="Now"/>), which
    /// a Cx without Time must not be able to read this way. (The runtime's own checks, for the tokens a Cx carries
    /// and the HTTP bearer middleware, read the clock on the runtime's behalf and need no capability.)</remarks>
    /// <param name="cx">The acting task's context.</param>
    /// <param name="resource">The resource the operation names, or null.</param>
    /// <param name="facts">Application facts, or null.</param>
    /// <param name="ledger">The ledger for counted caveats; null for the runtime's (<see cref="UseLedger.Of(Cx)"/>).</param>
    /// <returns>The context.</returns>
    /// <exception cref="CapabilityException"><paramref name="cx"/> does not grant Time.</exception>
    public static CaveatContext For(Cx cx, string? resource = null, IReadOnlyDictionary<string, string>? facts = null, UseLedger? ledger = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(Capabilities.Time);
        return ForRuntime(cx, resource, facts, ledger);
    }

    /// <summary>The runtime's own check on behalf of <paramref name="cx"/> (no capability needed; the clock stays inside the verifier).</summary>
    internal static CaveatContext ForRuntime(Cx cx, string? resource = null, IReadOnlyDictionary<string, string>? facts = null, UseLedger? ledger = null)
    {
        return new CaveatContext
        {
            // The runtime's clock, read on the runtime's behalf: the check is the runtime's, so it needs no Time capability.
            Now = cx.Task.Runtime.Driver.UtcNow,
            TaskId = cx.TaskId,
            Resource = resource,
            Ledger = ledger ?? UseLedger.Of(cx),
            Facts = facts,
            _region = cx.Task.Region,
        };
    }

    internal bool? InRegion(long regionId)
    {
        if (_region is { } r)
        {
            for (var x = r; x is not null; x = x.Parent)
                if (x.Id == regionId) return true;
            return false;
        }
        if (RegionPath is { } path)
        {
            for (int i = 0; i < path.Count; i++) // indexing: an interface foreach would allocate an enumerator
                if (path[i] == regionId) return true;
            return false;
        }
        return null;
    }
}
