using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Asupersync.AspNetCore;

/// <summary>
/// The application's root region body: a dispatcher task takes requests from the server's threads and starts one
/// task per request in the root region; each runs the rest of the pipeline in a request region of its own.
/// </summary>
/// <remarks>
/// Why a queue and a dispatcher task: only a task of the root region may spawn into it (a Cx belongs to its task),
/// and the server's threads are not tasks. The queue is a plain <see cref="Channel{T}"/> because its writers are
/// those threads; the dispatcher drains every queued request per step, so under load one wake-up starts many.
/// </remarks>
internal sealed class RequestDispatcher(AsupersyncWebOptions options, ILogger<RequestDispatcher> logger)
{
    /// <summary>The message of the cancel a client abort becomes (a <see cref="CancelKind.ResourceUnavailable"/> reason).</summary>
    internal const string ClientGoneMessage = "client gone: the request was aborted";

    private readonly Channel<PendingRequest> _queue = Channel.CreateUnbounded<PendingRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly RegionOptions _requestRegion = new() { Budget = options.RequestBudget };

    internal ILogger Logger => logger;

    /// <summary>Hands a request to the runtime; false once the application stopped admitting requests.</summary>
    public bool TryEnqueue(PendingRequest request) => _queue.Writer.TryWrite(request);

    public async Task RunRootAsync(Cx cx, IServiceProvider services)
    {
        var background = options.Background is { } body ? cx.Spawn("background", c => body(c, services)) : null;
        cx.Spawn("dispatcher", DispatchAsync);
        try
        {
            await cx.ShutdownSignalAsync();
            logger.LogInformation("asupersync: host stopping; draining in-flight requests");
        }
        finally
        {
            // Stop admitting: later requests get 503. What is queued is still started; the root region then closes
            // only after every request region closed (in-flight requests finish). If the host's shutdown timeout
            // runs out first, the hosting service cancels the root with Shutdown and the requests drain under the
            // cancel protocol.
            _queue.Writer.TryComplete();
            background?.Cancel(new CancelReason(CancelKind.Shutdown, "host stopping"));
        }
    }

    private async Task DispatchAsync(Cx cx)
    {
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                while (reader.TryRead(out var request)) Start(cx, request);
                var more = reader.WaitToReadAsync(cx.CancellationToken);
                if (!(more.IsCompletedSuccessfully ? more.Result : await cx.AwaitAsync(more.AsTask()))) break;
            }
        }
        finally
        {
            // Cancelled (the root was cancelled): refuse what is still queued, and anything written meanwhile.
            _queue.Writer.TryComplete();
            while (reader.TryRead(out var request)) request.Complete(Outcome<Unit>.Cancelled(new CancelReason(CancelKind.Shutdown, "host stopped before the request started")));
        }
    }

    private void Start(Cx cx, PendingRequest request)
    {
        TaskHandle<Unit> handle;
        try
        {
            handle = cx.Spawn("request", c => RunRequestAsync(c, request));
        }
        catch (RegionClosedException e)
        {
            request.Complete(Outcome<Unit>.Cancelled(new CancelReason(CancelKind.Shutdown, e.Message)));
            return;
        }
        // Registered after the spawn (the handle is the cancel target); an already aborted request cancels at once.
        request.SetAbortRegistration(request.Context.RequestAborted.Register(static s =>
        {
            var h = (TaskHandle<Unit>)s!;
            h.Cancel(new CancelReason(CancelKind.ResourceUnavailable, ClientGoneMessage, h.Core.Runtime.Now));
        }, handle));
    }

    private async Task RunRequestAsync(Cx cx, PendingRequest request)
    {
        Outcome<Unit>? outcome = null;
        try
        {
            outcome = await cx.RegionAsync("request", rcx => RunPipelineAsync(rcx, request), _requestRegion);
        }
        finally
        {
            // Also when the request was cancelled before its region opened (RegionAsync's checkpoint raised).
            request.Complete(outcome ?? Outcome<Unit>.Cancelled(cx.CancelReason ?? new CancelReason(CancelKind.Shutdown, "request not started")));
        }
    }

    private static Task RunPipelineAsync(Cx cx, PendingRequest request)
    {
        var context = request.Context;
        context.Features.Set<IRequestCxFeature>(new RequestCxFeature(cx));
        context.RequestServices.GetRequiredService<RequestCxHolder>().Cx = cx;
        if (request.ExecutionContext is not { } ec) return request.Next(context);
        // Run the pipeline's synchronous start under the server thread's execution context (Activity.Current,
        // IHttpContextAccessor, logging scopes); each async method keeps it across its own awaits from there.
        var box = new StrongBox<Task?>();
        ExecutionContext.Run(ec, static s =>
        {
            var (r, b) = ((PendingRequest, StrongBox<Task?>))s!;
            b.Value = r.Next(r.Context);
        }, (request, box));
        return box.Value!;
    }
}
