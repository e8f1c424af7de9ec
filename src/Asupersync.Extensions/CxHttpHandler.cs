namespace Asupersync.Extensions;

/// <summary>
/// The HttpClient bridge as a <see cref="DelegatingHandler"/>: every request sent through a client built on it
/// runs under the Cx attached to it with <see cref="HttpRequestCx.WithCx"/> — the same cancel protocol, budget
/// deadline and <see cref="ObligationKind.IoOp"/> obligation as <see cref="HttpClientCx.SendAsync"/>, for code that
/// calls <c>client.SendAsync(request)</c> itself (typed clients, <c>IHttpClientFactory</c> pipelines via
/// <c>AddHttpMessageHandler</c>, generated clients that let you build the request).
/// </summary>
/// <remarks>
/// <para>A request without a Cx is refused (<see cref="InvalidOperationException"/>, nothing sent): a client
/// built on this handler that silently ran outside the cancel protocol would be a hole nobody sees. The Cx travels
/// in <see cref="HttpRequestMessage.Options"/>, never in ambient state.</para>
/// <para>The cancel-safety table is <see cref="HttpClientCx"/>'s. In addition, the token passed to
/// <c>client.SendAsync(request, token)</c> and <see cref="HttpClient.Timeout"/> still apply; a cancel from them
/// aborts the obligation with a message saying the request may have reached the server.</para>
/// <para>The handler sees the response when its headers arrived (that is when the obligation is Committed); with
/// <see cref="HttpCompletionOption.ResponseContentRead"/> (HttpClient's default) the body is then buffered by
/// HttpClient under the same tokens.</para>
/// </remarks>
public sealed class CxHttpHandler : DelegatingHandler
{
    /// <summary>A handler over a new <see cref="SocketsHttpHandler"/>.</summary>
    public CxHttpHandler()
        : base(new SocketsHttpHandler())
    {
    }

    /// <summary>A handler over <paramref name="inner"/> (which it disposes with itself).</summary>
    /// <param name="inner">The handler that sends the request.</param>
    public CxHttpHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    /// <summary>Sends the request under its Cx.</summary>
    /// <param name="request">The request, carrying a Cx (<see cref="HttpRequestCx.WithCx"/>).</param>
    /// <param name="cancellationToken">The caller's token (and HttpClient's timeout).</param>
    /// <returns>The response (headers).</returns>
    /// <exception cref="InvalidOperationException">The request carries no Cx.</exception>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.Options.TryGetValue(HttpRequestCx.Key, out var cx) || cx is null)
            throw new InvalidOperationException($"HTTP {request.Method} {request.RequestUri}: no Cx attached to the request (request.WithCx(cx)); {nameof(CxHttpHandler)} sends nothing outside the cancel protocol.");
        return HttpClientCx.SendCoreAsync(cx, request, (_, token) => base.SendAsync(request, token), null, cancellationToken);
    }

    /// <summary>Synchronous sends are not supported: a Cx's awaits are its checkpoints.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">The token.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{nameof(CxHttpHandler)} supports asynchronous sends only.");
}

/// <summary>Attaches a Cx to an <see cref="HttpRequestMessage"/> for <see cref="CxHttpHandler"/>.</summary>
public static class HttpRequestCx
{
    /// <summary>The option under which the Cx travels.</summary>
    public static readonly HttpRequestOptionsKey<Cx> Key = new("Asupersync.Cx");

    /// <summary>Attaches <paramref name="cx"/>: the request will be sent under its cancel protocol and budget.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cx">The sending task's context.</param>
    /// <returns><paramref name="request"/>.</returns>
    public static HttpRequestMessage WithCx(this HttpRequestMessage request, Cx cx)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(cx);
        request.Options.Set(Key, cx);
        return request;
    }
}
