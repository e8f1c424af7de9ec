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
    /// <remarks>
    /// <para>The limit is the body's budget: the body runs as the only task of a child region whose deadline is the
    /// limit, met with the caller's (DESIGN §2.3: parent ⊓ child). So <c>cx.Budget.Deadline</c> inside the body is the
    /// tightest deadline in force — a nested timeout, a <see cref="RetryAsync{T}"/> or a child region inside sees and
    /// inherits it — and the region's own timer enforces it. When an enclosing deadline is earlier than this limit,
    /// that deadline is what fires, and the outcome is not reported as this timeout.</para>
    /// <para>Needs <see cref="Capabilities.Time"/> and <see cref="Capabilities.Spawn"/> (the body runs as a task of a
    /// child region); without them it throws <see cref="CapabilityException"/>.</para>
    /// </remarks>
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
        ArgumentNullException.ThrowIfNull(name);
        cx.Require(Capabilities.Time | Capabilities.Spawn);
        return Run(cx, duration, body, name);

        static async Task<Outcome<T>> Run(Cx cx, TimeSpan duration, Func<Cx, Task<T>> body, string name)
        {
            cx.Task.Checkpoint();
            var now = cx.Task.Runtime.Now;
            // The limit is the region's own budget (no RegionOptions per call), resolved against this one clock read.
            Budget? limit = duration >= TimeSpan.MaxValue - now ? null : Budget.FromTimeout(duration <= TimeSpan.Zero ? TimeSpan.Zero : duration);
            var race = new HeldRace<T>(cx, name, 1, s_collectAll, limit, now);
            bool computed = false;
            Outcome<T> outcome = default;
            if (race.TryStart(cx, BranchName(name, 0), body))
            {
                await race.WaitAsync(all: false);
                outcome = race.OutcomeOf(0);
                computed = true;
            }
            return await race.CloseAsync(outcome, computed, name);
        }
    }

    /// <summary>True when <paramref name="outcome"/> is a timeout reported by <see cref="TimeoutAsync{T}"/>.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="outcome">An outcome.</param>
    /// <returns>True for Cancelled with <see cref="CancelKind.Timeout"/>.</returns>
    public static bool IsTimedOut<T>(this Outcome<T> outcome) => outcome.CancelReason is { Kind: CancelKind.Timeout };
}
