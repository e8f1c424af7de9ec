namespace Asupersync;

public static partial class Combinators
{
    /// <summary>
    /// Runs <paramref name="body"/> with a time limit. If the limit passes first, the body is cancelled with a
    /// <see cref="CancelKind.Timeout"/> reason and awaited (drained) before this returns.
    /// </summary>
    /// <typeparam name="T">The body's result.</typeparam>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="duration">The limit, on the runtime clock.</param>
    /// <param name="body">The work.</param>
    /// <param name="name">The region name.</param>
    /// <returns>
    /// The body's outcome. It is <c>Cancelled</c> with <see cref="CancelKind.Timeout"/> (see
    /// <see cref="IsTimedOut{T}"/>) only when this timeout's own limit fired; an outside cancel of the caller
    /// gives <c>Cancelled</c> with the caller's reason; a panic while draining gives <c>Panicked</c>.
    /// </returns>
    /// <remarks>The limit is enforced by this combinator's own timer; it is not added to the body's
    /// <see cref="Cx.Budget"/>. Needs <see cref="Capabilities.Time"/> (the timer) and <see cref="Capabilities.Spawn"/>
    /// (the body runs as a task of a child region); without them it throws <see cref="CapabilityException"/>.</remarks>
    /// <example>
    /// <code>
    /// var o = await cx.TimeoutAsync(TimeSpan.FromSeconds(2), cx => FetchAsync(cx, url));
    /// if (o.IsTimedOut()) Log("slow upstream");
    /// </code>
    /// </example>
    public static Task<Outcome<T>> TimeoutAsync<T>(this Cx cx, TimeSpan duration, Func<Cx, Task<T>> body, string name = "timeout")
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(body);
        cx.Require(Capabilities.Time | Capabilities.Spawn);
        return InRegionAsync<T>(cx, name, async rcx =>
        {
            var rt = rcx.Task.Runtime;
            var now = rt.Now;
            var due = duration <= TimeSpan.Zero ? now : (duration >= TimeSpan.MaxValue - now ? TimeSpan.MaxValue : now + duration);
            var set = new BranchSet<T>(rcx, name, [body]);
            // The timer posts a pseudo-branch (-1) into the queue the body reports its end to: one wait, two events.
            var timer = due == TimeSpan.MaxValue ? null : rt.AddTimer(due, static s => ((BranchSet<T>)s!).Post(-1), set);
            try
            {
                var (first, outcome) = await set.NextAsync(rcx);
                if (first == 0) return outcome;
                var reason = new CancelReason(CancelKind.Timeout, $"{name}: {duration} elapsed", due, rcx.RegionId, rcx.TaskId);
                set.Handles[0].Cancel(reason);
                return await set.Handles[0].JoinAsync(rcx);
            }
            finally
            {
                timer?.Cancel();
            }
        });
    }

    /// <summary>True when <paramref name="outcome"/> is a timeout reported by <see cref="TimeoutAsync{T}"/>.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="outcome">An outcome.</param>
    /// <returns>True for Cancelled with <see cref="CancelKind.Timeout"/>.</returns>
    public static bool IsTimedOut<T>(this Outcome<T> outcome) => outcome.CancelReason is { Kind: CancelKind.Timeout };
}
