namespace Asupersync;

/// <summary>How <see cref="Combinators.RetryAsync{T}"/> retries: attempts, exponential backoff, which errors.</summary>
/// <example>
/// <code>
/// var policy = new RetryPolicy { MaxAttempts = 5, InitialBackoff = TimeSpan.FromMilliseconds(20) };
/// </code>
/// </example>
public sealed record RetryPolicy
{
    /// <summary>The default: 3 attempts, 10 ms initial backoff doubling up to 1 s, every Err retried.</summary>
    public static RetryPolicy Default { get; } = new();

    /// <summary>Total attempts including the first (at least 1). Default 3.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>The pause before the second attempt. Default 10 ms.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Each later pause is the previous one times this factor. Default 2.</summary>
    public double BackoffMultiplier { get; init; } = 2.0;

    /// <summary>The longest pause. Default 1 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Which errors are worth retrying (default: every Err). Cancelled and Panicked are never retried.</summary>
    public Func<Exception, bool>? ShouldRetry { get; init; }

    /// <summary>
    /// The overall budget of the retry — every attempt and every pause — from the call on, or null (the default) for
    /// none beyond the caller's. It is each attempt's budget: the attempt's region has this deadline, met with the
    /// caller's (DESIGN §2.3), so <c>cx.Budget.Deadline</c> inside an attempt is the tightest deadline in force and an
    /// attempt still running when it passes is cancelled with <see cref="CancelKind.Timeout"/> (the retry then returns
    /// that outcome: <see cref="Combinators.IsTimedOut{T}"/> is true).
    /// </summary>
    public TimeSpan? Timeout { get; init; }
}

public static partial class Combinators
{
    /// <summary>
    /// Runs <paramref name="body"/> (each attempt in its own child region), retrying Err outcomes with
    /// exponential backoff. Budget-aware: the deadline in force is the caller's (<see cref="Cx.Budget"/>) met with
    /// the policy's own <see cref="RetryPolicy.Timeout"/>, and it is each attempt's budget (the attempt's region has
    /// it, so a timeout, a retry or an HTTP call inside sees how much time is left); the retry never starts another
    /// attempt that cannot end by that deadline — the pause plus an attempt as long as the last one — and returns the
    /// last error instead; it stops when the caller is cancelled. Cancelled and Panicked outcomes are returned at
    /// once, never retried.
    /// </summary>
    /// <typeparam name="T">The result.</typeparam>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="body">One attempt; it receives a fresh Cx in the attempt's region.</param>
    /// <param name="policy">Attempts, backoff and filter (default <see cref="RetryPolicy.Default"/>).</param>
    /// <param name="name">The regions' name prefix.</param>
    /// <returns>The first Ok, or the last attempt's outcome.</returns>
    /// <remarks>Needs <see cref="Capabilities.Spawn"/> (each attempt is a region) and <see cref="Capabilities.Time"/>
    /// (the backoff pauses and the deadline check read the clock), checked at the call.</remarks>
    /// <example>
    /// <code>
    /// var o = await cx.RetryAsync(cx => FetchAsync(cx, url), new RetryPolicy { MaxAttempts = 4 });
    /// </code>
    /// </example>
    public static async Task<Outcome<T>> RetryAsync<T>(this Cx cx, Func<Cx, Task<T>> body, RetryPolicy? policy = null, string name = "retry")
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(body);
        cx.Require(Capabilities.Time | Capabilities.Spawn);
        policy ??= RetryPolicy.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(policy.MaxAttempts, 1);
        if (policy.Timeout is { } t) ArgumentOutOfRangeException.ThrowIfLessThan(t, TimeSpan.Zero, "policy.Timeout");
        var backoff = policy.InitialBackoff;
        var rt = cx.Task.Runtime;
        // The policy's overall budget, as an absolute deadline: each attempt's region budget (met with the caller's).
        TimeSpan? own = policy.Timeout is { } limit && limit < TimeSpan.MaxValue - rt.Now ? rt.Now + limit : null;
        for (int attempt = 1; ; attempt++)
        {
            if (cx.CancelReason is { } already) return Outcome<T>.Cancelled(already); // see InRegionAsync
            var started = rt.Now;
            // As a timeout (relative, resolved when the region opens): it reports Timeout when it is the binding limit.
            var attemptOptions = own is { } at ? new RegionOptions { Budget = Budget.Timeout(at > started ? at - started : TimeSpan.Zero) } : null;
            var o = await cx.RegionAsync($"{name}#{attempt}", body, attemptOptions);
            if (!o.IsErr || attempt >= policy.MaxAttempts) return o;
            if (policy.ShouldRetry is { } filter && !filter(o.Error!)) return o;
            var took = rt.Now - started;
            var deadline = cx.Budget.Deadline is { } d && (own is null || d < own) ? d : own;
            if (deadline is { } end && rt.Now + backoff + took >= end) return o; // the pause and another such attempt cannot fit
            if (backoff > TimeSpan.Zero) await cx.SleepAsync(backoff);
            var next = backoff * policy.BackoffMultiplier;
            backoff = next > policy.MaxBackoff ? policy.MaxBackoff : next;
        }
    }
}
