using Microsoft.AspNetCore.Http;

namespace Asupersync.AspNetCore;

/// <summary>
/// One request handed from the server's thread to the runtime: the context, the rest of the pipeline, the server
/// thread's execution context, and the completion the server's thread awaits (set once the request region closed).
/// </summary>
internal sealed class PendingRequest(HttpContext context, RequestDelegate next, ExecutionContext? executionContext)
{
    // RunContinuationsAsynchronously: the server's continuation (finishing the response) must not run inline on the
    // runtime worker that closed the region.
    private readonly TaskCompletionSource<Outcome<Unit>> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _abort;
    private bool _completed;

    public HttpContext Context { get; } = context;

    public RequestDelegate Next { get; } = next;

    /// <summary>The server thread's context (Activity.Current, IHttpContextAccessor, logging scopes) for the pipeline.</summary>
    public ExecutionContext? ExecutionContext { get; } = executionContext;

    public Task<Outcome<Unit>> Completion => _done.Task;

    /// <summary>
    /// Keeps the RequestAborted registration until the request completes. The server reuses its abort source across
    /// requests of a connection, so a registration left behind would cancel nothing useful and pile up.
    /// </summary>
    public void SetAbortRegistration(CancellationTokenRegistration registration)
    {
        lock (this)
        {
            if (!_completed)
            {
                _abort = registration;
                return;
            }
        }
        registration.Dispose(); // the request already completed: nothing is left to cancel
    }

    public void Complete(Outcome<Unit> outcome)
    {
        CancellationTokenRegistration abort;
        lock (this)
        {
            if (_completed) return;
            _completed = true;
            abort = _abort;
            _abort = default;
        }
        abort.Dispose();
        _done.TrySetResult(outcome);
    }
}
