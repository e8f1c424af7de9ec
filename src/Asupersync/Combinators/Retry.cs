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
}

public static partial class Combinators
{
    /// <summary>
    /// Runs <paramref name="body"/> (each attempt in its own child region), retrying Err outcomes with
    /// exponential backoff. Budget-aware: it never starts a pause that would end past the caller's deadline
    /// (<see cref="Cx.Budget"/>), and stops when the caller is cancelled. Cancelled and Panicked outcomes are
    /// returned at once, never retried.
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
        var backoff = policy.InitialBackoff;
        for (int attempt = 1; ; attempt++)
        {
            if (cx.CancelReason is { } already) return Outcome<T>.Cancelled(already); // see InRegionAsync
            var o = await cx.RegionAsync($"{name}#{attempt}", body);
            if (!o.IsErr || attempt >= policy.MaxAttempts) return o;
            if (policy.ShouldRetry is { } filter && !filter(o.Error!)) return o;
            if (cx.Budget.Deadline is { } deadline && cx.Task.Runtime.Now + backoff >= deadline) return o; // no time left
            if (backoff > TimeSpan.Zero) await cx.SleepAsync(backoff);
            var next = backoff * policy.BackoffMultiplier;
            backoff = next > policy.MaxBackoff ? policy.MaxBackoff : next;
        }
    }
}
