namespace Asupersync.Http;

/// <summary>Handles one request inside its per-request region; returns the response to send.</summary>
/// <param name="cx">The request task's context (a task of the request's region, owned by the connection).</param>
/// <param name="request">The request, body included.</param>
/// <returns>The response.</returns>
public delegate Task<HttpResponse> HttpHandler(Cx cx, HttpRequest request);

/// <summary>Routes requests by method and exact path: unknown path → 404, known path with another method → 405 with <c>Allow</c>.</summary>
/// <example><code>
/// var router = new HttpRouter()
///     .MapGet("/", (cx, req) => Task.FromResult(HttpResponse.Text("hello")))
///     .MapPost("/echo", (cx, req) => Task.FromResult(HttpResponse.Bytes(req.Body)));
/// </code></example>
public sealed class HttpRouter
{
    private readonly Dictionary<string, Dictionary<string, HttpHandler>> _routes = new(StringComparer.Ordinal);

    /// <summary>Adds a route.</summary>
    /// <param name="method">The method (e.g. <c>GET</c>); <c>GET</c> routes also answer <c>HEAD</c>.</param>
    /// <param name="path">The exact path, starting with <c>/</c>.</param>
    /// <param name="handler">The handler.</param>
    /// <returns>This router.</returns>
    public HttpRouter Map(string method, string path, HttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(handler);
        if (!path.StartsWith('/')) throw new ArgumentException("A path starts with '/'.", nameof(path));
        if (!_routes.TryGetValue(path, out var byMethod)) _routes[path] = byMethod = new Dictionary<string, HttpHandler>(StringComparer.Ordinal);
        byMethod[method] = handler;
        return this;
    }

    /// <summary>Adds a GET (and HEAD) route.</summary>
    /// <param name="path">The path.</param>
    /// <param name="handler">The handler.</param>
    /// <returns>This router.</returns>
    public HttpRouter MapGet(string path, HttpHandler handler) => Map("GET", path, handler);

    /// <summary>Adds a POST route.</summary>
    /// <param name="path">The path.</param>
    /// <param name="handler">The handler.</param>
    /// <returns>This router.</returns>
    public HttpRouter MapPost(string path, HttpHandler handler) => Map("POST", path, handler);

    /// <summary>Dispatches a request.</summary>
    /// <param name="cx">The request task's context.</param>
    /// <param name="request">The request.</param>
    /// <returns>The handler's response, or 404/405.</returns>
    public Task<HttpResponse> HandleAsync(Cx cx, HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_routes.TryGetValue(request.Path, out var byMethod))
            return Task.FromResult(HttpResponse.Error(404, request.Path));
        if (byMethod.TryGetValue(request.Method, out var h)) return Authorized(cx, request) ?? h(cx, request);
        if (request.Method == "HEAD" && byMethod.TryGetValue("GET", out var g)) return Authorized(cx, request) ?? g(cx, request);
        var r = HttpResponse.Error(405, request.Method);
        r.Headers.Add("Allow", string.Join(", ", byMethod.Keys.Order(StringComparer.Ordinal)));
        return Task.FromResult(r);
    }

    // A Cx that carries capability tokens serves a route only within their scope: resource "http:METHOD:/path".
    private static Task<HttpResponse>? Authorized(Cx cx, HttpRequest request) =>
        cx?.Authority is not null && cx.AuthorizeResource("http:" + request.Method + ":" + request.Path) is { } denied
            ? Task.FromResult(HttpResponse.Error(403, denied.Message))
            : null;

    /// <summary>The router as a handler.</summary>
    /// <param name="router">The router.</param>
    public static implicit operator HttpHandler(HttpRouter router)
    {
        ArgumentNullException.ThrowIfNull(router);
        return router.HandleAsync;
    }

    /// <summary>The router as a handler (named alternative to the implicit conversion).</summary>
    /// <returns>The handler.</returns>
    public HttpHandler ToHandler() => HandleAsync;
}
