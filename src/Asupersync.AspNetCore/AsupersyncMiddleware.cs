using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Asupersync.AspNetCore;

/// <summary>
/// Runs the rest of the pipeline as the main task of a request region (see <see cref="AsupersyncWebExtensions.UseAsupersync"/>)
/// and turns the region's outcome into the response: Ok as the pipeline left it; Cancelled as 503 when nothing was
/// sent yet (nobody hears it when the client is gone); Err and Panicked rethrown on the server's side, so the host's
/// own error handling (500, logging) applies.
/// </summary>
internal sealed class AsupersyncMiddleware(RequestDelegate next, RequestDispatcher dispatcher)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = new PendingRequest(context, next, ExecutionContext.Capture());
        if (!dispatcher.TryEnqueue(request))
        {
            Refuse(context, "the application is stopping");
            return;
        }
        var outcome = await request.Completion;
        switch (outcome.Kind)
        {
            case OutcomeKind.Ok:
                return;
            case OutcomeKind.Cancelled:
                bool clientGone = context.RequestAborted.IsCancellationRequested;
                dispatcher.Logger.Log(clientGone ? LogLevel.Debug : LogLevel.Information,
                    "asupersync: request {Method} {Path} cancelled: {Reason}", context.Request.Method, context.Request.Path, outcome.CancelReason);
                if (!clientGone) Refuse(context, outcome.CancelReason?.ToString() ?? "cancelled");
                return;
            case OutcomeKind.Err:
                dispatcher.Logger.LogError(outcome.Error, "asupersync: request {Method} {Path} ended Err", context.Request.Method, context.Request.Path);
                ExceptionDispatchInfo.Throw(outcome.Error!);
                return;
            default:
                ExceptionDispatchInfo.Throw(outcome.Exception!);
                return;
        }
    }

    private static void Refuse(HttpContext context, string why)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers["X-Asupersync-Cancel"] = why.Length > 200 ? why[..200] : why;
    }
}
