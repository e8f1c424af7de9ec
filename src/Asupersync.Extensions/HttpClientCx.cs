namespace Asupersync.Extensions;

/// <summary>
/// <see cref="HttpClient"/> under a Cx: the cancel protocol and the caller's budget applied to an outgoing request,
/// which is tracked as an <see cref="ObligationKind.IoOp"/> obligation while it is in flight.
/// </summary>
/// <remarks>
/// <para><b>What a cancel can leave behind.</b> An HTTP request is not two-phase: once its first byte left, the
/// server may act on it whatever the client does next. So:</para>
/// <list type="table">
/// <listheader><term>the cancel lands…</term><description>result</description></listheader>
/// <item><term>before the call</term><description>the checkpoint raises; nothing was sent.</description></item>
/// <item><term>while connecting or sending</term><description><see cref="CancelledException"/>; the request may or may not have reached the server.</description></item>
/// <item><term>while waiting for the response</term><description><see cref="CancelledException"/>; the server may have acted (and even answered); the obligation is Aborted with a message saying so.</description></item>
/// <item><term>after the response headers arrived</term><description>the response is returned (Committed) — the effect happened and is never silently dropped; the next checkpoint raises the cancel.</description></item>
/// </list>
/// <para>Retrying a request whose cancel left it in doubt is safe only when the server deduplicates it: send an
/// idempotency key (for example an <c>Idempotency-Key</c> header) and reuse it for the retry.</para>
/// <para><b>Budget.</b> A deadline in the task's budget becomes the request's timeout: when it passes first, the
/// request is cancelled and the call raises the task's Deadline cancel at its checkpoint
/// (<see cref="TimeoutException"/> if the runtime has not yet seen the deadline).</para>
/// <para>The request is awaited to its end, never abandoned: a cancelled request returns once HttpClient has
/// stopped it, so nothing runs on behind the task.</para>
/// </remarks>
public static class HttpClientCx
{
    /// <summary>
    /// Sends <paramref name="request"/> with <paramref name="cx"/>'s cancel token and budget. Needs
    /// <see cref="Capabilities.IO"/>; a checkpoint. See <see cref="HttpClientCx"/> for the partial effects a cancel
    /// can leave.
    /// </summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="client">The client.</param>
    /// <param name="request">The request (sent once).</param>
    /// <param name="completion">When the call returns: after the headers (default) or after the whole body was buffered.</param>
    /// <returns>The response; the caller disposes it.</returns>
    /// <exception cref="CancelledException">The task was cancelled before the response arrived.</exception>
    /// <exception cref="TimeoutException">The budget's deadline passed before the response arrived.</exception>
    /// <exception cref="HttpRequestException">The request failed (the obligation is Aborted).</exception>
    public static Task<HttpResponseMessage> SendAsync(this Cx cx, HttpClient client, HttpRequestMessage request, HttpCompletionOption completion = HttpCompletionOption.ResponseHeadersRead)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        return SendCoreAsync(cx, request, static (state, token) =>
        {
            var (c, r, o) = ((HttpClient, HttpRequestMessage, HttpCompletionOption))state!;
            return c.SendAsync(r, o, token);
        }, (client, request, completion), default);
    }

    /// <summary>
    /// The bridge itself, shared by <see cref="SendAsync"/> and <see cref="CxHttpHandler"/>: capability check,
    /// checkpoint, the IoOp obligation, the budget's deadline as a timeout, the cancel protocol.
    /// </summary>
    internal static async Task<HttpResponseMessage> SendCoreAsync(Cx cx, HttpRequestMessage request, Func<object?, CancellationToken, Task<HttpResponseMessage>> send, object? state, CancellationToken callerToken)
    {
        cx.Require(Capabilities.IO);
        cx.Checkpoint();
        var token = cx.CancellationToken;
        using var linked = callerToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(token, callerToken) : null;
        using var deadline = DeadlineSource(cx, linked?.Token ?? token);
        using var ob = cx.Reserve(ObligationKind.IoOp, $"HTTP {request.Method} {request.RequestUri}");
        HttpResponseMessage response;
        try
        {
            // Lab chaos only (ChaosOptions.IoOpFailureProbability): fails as a connection failure would, before sending.
            try { Asupersync.Kernel.IoChaos.BeforeEffect(cx, $"HTTP {request.Method} {request.RequestUri}"); }
            catch (IOException e) { throw new HttpRequestException(e.Message, e); }
            // A plain await: the request runs to its end (HttpClient honours the token), so nothing is left running
            // behind the task and a response that arrived is never thrown away.
            response = await send(state, deadline?.Token ?? linked?.Token ?? token);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested && callerToken.IsCancellationRequested)
        {
            ob.Abort("cancelled by the caller's own token (or HttpClient.Timeout); the request may have reached the server");
            throw;
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested && deadline is not null)
        {
            ob.Abort("the budget's deadline passed; the request may have reached the server");
            cx.Checkpoint(); // the runtime raises its Deadline cancel here when it has seen the deadline
            throw new TimeoutException($"HTTP {request.Method} {request.RequestUri} did not complete within the task's budget (deadline {cx.Budget.Deadline}).");
        }
        catch (OperationCanceledException)
        {
            ob.Abort("cancelled (" + cx.CancelReason + "); the request may have reached the server");
            throw;
        }
        catch (Exception e)
        {
            ob.Abort("failed: " + e.Message);
            throw;
        }
        ob.Commit();
        return response;
    }

    /// <summary>GETs <paramref name="uri"/> and returns the body as a string (see <see cref="SendAsync"/>).</summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="client">The client.</param>
    /// <param name="uri">The address (relative to the client's base address, or absolute).</param>
    /// <returns>The body.</returns>
    /// <exception cref="HttpRequestException">The request failed or the status was not a success.</exception>
    public static async Task<string> GetStringAsync(this Cx cx, HttpClient client, string uri)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        using var response = await cx.SendAsync(client, request, HttpCompletionOption.ResponseContentRead);
        response.EnsureSuccessStatusCode();
        // Buffered by ResponseContentRead: reading it completes at once.
        return await response.Content.ReadAsStringAsync(CancellationToken.None);
    }

    private static CancellationTokenSource? DeadlineSource(Cx cx, CancellationToken token)
    {
        if (cx.Budget.Deadline is not { } deadline) return null;
        var left = deadline - cx.Task.Runtime.Now;
        var source = CancellationTokenSource.CreateLinkedTokenSource(token);
        // The production clock and the token's timer both measure elapsed real time; in the Lab the runtime's own
        // deadline check at the next checkpoint is what decides.
        source.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        return source;
    }
}
