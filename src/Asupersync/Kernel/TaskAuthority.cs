namespace Asupersync.Kernel;

/// <summary>
/// The seam through which a token-based authority (Asupersync.Capabilities: macaroons) governs a <see cref="Cx"/>.
/// A Cx without one is governed by its capability bits only. A Cx with one asks it at every effect that names a
/// resource (TCP bind/connect, HTTP routes, user-defined resources via <see cref="Cx.DemandResource"/>); children
/// spawned from that Cx inherit it. The kernel knows nothing of tokens: the authority decides, the kernel raises its
/// denial and reports it to the observer (the Lab's AmbientAuthority oracle).
/// </summary>
internal abstract class TaskAuthority
{
    /// <summary>Decides whether <paramref name="cx"/> may act on <paramref name="resource"/>.</summary>
    /// <param name="cx">The acting context.</param>
    /// <param name="resource">The resource name, e.g. <c>net:connect:127.0.0.1:5432</c>.</param>
    /// <returns>Null when allowed; otherwise the exception to raise (its message names the failed caveat).</returns>
    internal abstract Exception? Check(Cx cx, string resource);
}
