namespace Asupersync;

/// <summary>Acquire / use / release for resources that are not <see cref="IAsyncDisposable"/>.</summary>
public static class Bracket
{
    /// <summary>
    /// Acquires a resource, uses it, and releases it on every ending of the use — Ok, error, cancel or panic. The
    /// release runs masked: a cancel that arrived while the resource was in use (or that is still pending when the
    /// use returned) does not cut it short; it is bounded only by the task's cleanup budget, after which its waits
    /// raise like any other drain's.
    /// </summary>
    /// <remarks>
    /// <para><c>await using</c> remains the idiom for <see cref="IAsyncDisposable"/> resources; a bracket is for a
    /// lease, a handle or a remote reservation that is released by a call you provide.</para>
    /// <para>The acquire is an ordinary cancel-safe wait: a cancel while acquiring raises from it and nothing is
    /// released (nothing was acquired). Once it returned, the release is guaranteed: there is no checkpoint
    /// between the end of the acquire and the start of the use.</para>
    /// <para>Errors: an exception of the use propagates after the release. If the release throws too, both
    /// propagate as an <see cref="AggregateException"/> (use first), so a failing release is never hidden — the
    /// task then ends Panicked. If only the release throws, its exception propagates. A release cut short because
    /// the cleanup budget ran out raises <see cref="CancelledException"/> (after a use that failed, the use's
    /// exception propagates): the task ends Cancelled and the overrun is reported, as for any drain.</para>
    /// </remarks>
    /// <typeparam name="TResource">The resource.</typeparam>
    /// <typeparam name="TResult">What the use computes.</typeparam>
    /// <param name="cx">The task's context.</param>
    /// <param name="acquire">Obtains the resource (may wait; cancel-safe).</param>
    /// <param name="use">Uses it.</param>
    /// <param name="release">Gives it back; runs exactly once after <paramref name="acquire"/> returned.</param>
    /// <returns>What <paramref name="use"/> returned.</returns>
    /// <example>
    /// <code>
    /// var rows = await cx.BracketAsync(
    ///     acquire: cx =&gt; locks.TakeAsync(cx, "orders/42"),
    ///     use: (cx, lease) =&gt; UpdateOrderAsync(cx, lease),
    ///     release: (cx, lease) =&gt; locks.GiveBackAsync(cx, lease));
    /// </code>
    /// </example>
    public static async Task<TResult> BracketAsync<TResource, TResult>(this Cx cx, Func<Cx, Task<TResource>> acquire, Func<Cx, TResource, Task<TResult>> use, Func<Cx, TResource, Task> release)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(acquire);
        ArgumentNullException.ThrowIfNull(use);
        ArgumentNullException.ThrowIfNull(release);
        cx.Checkpoint();
        var resource = await acquire(cx);
        TResult result;
        try
        {
            result = await use(cx, resource);
        }
        catch (Exception useError)
        {
            var releaseError = await ReleaseMaskedAsync(cx, release, resource);
            // A release cut short by the cleanup budget is the cancel the use already reports, not a failure.
            if (releaseError is not null && !IsBudgetCut(cx, releaseError))
                throw new AggregateException("The bracket's use failed, and so did its release.", useError, releaseError);
            throw;
        }
        if (await ReleaseMaskedAsync(cx, release, resource) is { } e) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
        return result;
    }

    /// <summary>Like <see cref="BracketAsync{TResource, TResult}"/> for a use without a result.</summary>
    /// <typeparam name="TResource">The resource.</typeparam>
    /// <param name="cx">The task's context.</param>
    /// <param name="acquire">Obtains the resource (may wait; cancel-safe).</param>
    /// <param name="use">Uses it.</param>
    /// <param name="release">Gives it back; runs exactly once after <paramref name="acquire"/> returned.</param>
    /// <returns>A task completing after the release.</returns>
    public static Task BracketAsync<TResource>(this Cx cx, Func<Cx, Task<TResource>> acquire, Func<Cx, TResource, Task> use, Func<Cx, TResource, Task> release)
    {
        ArgumentNullException.ThrowIfNull(use);
        return cx.BracketAsync<TResource, Unit>(acquire, async (cx, r) =>
        {
            await use(cx, r);
            return default;
        }, release);
    }

    private static bool IsBudgetCut(Cx cx, Exception e) => e is OperationCanceledException && cx.IsCancelRequested;

    private static async Task<Exception?> ReleaseMaskedAsync<TResource>(Cx cx, Func<Cx, TResource, Task> release, TResource resource)
    {
        using (cx.Mask())
        {
            try
            {
                await release(cx, resource);
                return null;
            }
            catch (Exception ex)
            {
                return ex;
            }
        }
    }
}
