namespace Asupersync;

public static partial class Combinators
{
    /// <summary>
    /// Runs every branch concurrently and succeeds as soon as <paramref name="required"/> of them are Ok; the
    /// rest are cancelled (<see cref="CancelKind.RaceLost"/>) and drained before this returns. Fails as soon as
    /// so many branches failed that the quorum can no longer be reached.
    /// </summary>
    /// <typeparam name="T">The branches' result.</typeparam>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="required">How many Ok outcomes are needed (1 to the number of branches).</param>
    /// <param name="branches">The branches.</param>
    /// <param name="name">The region name.</param>
    /// <returns>Ok(the first <paramref name="required"/> values, in completion order), or the lattice join of the
    /// failures; joined in both cases with any cancelled branch outcome more severe than RaceLost (panics surface).</returns>
    /// <example>
    /// <code>
    /// // write to 3 replicas, succeed when 2 acknowledged
    /// var o = await cx.QuorumAsync(2, [.. replicas.Select(r => (Func&lt;Cx, Task&lt;Ack&gt;&gt;)(cx => r.WriteAsync(cx, row)))]);
    /// </code>
    /// </example>
    public static Task<Outcome<T[]>> QuorumAsync<T>(this Cx cx, int required, IReadOnlyList<Func<Cx, Task<T>>> branches, string name = "quorum")
    {
        Check(branches);
        ArgumentOutOfRangeException.ThrowIfLessThan(required, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(required, branches.Count);
        return InRegionAsync<T[]>(cx, name, async rcx =>
        {
            var set = new BranchSet<T>(rcx, name, branches);
            var values = new List<T>(required);
            var failures = Outcome.Ok();
            int failed = 0, last = -1;
            while (values.Count < required && failed <= branches.Count - required)
            {
                var (i, o) = await set.NextAsync(rcx);
                last = i;
                if (o.TryGetValue(out var v)) values.Add(v);
                else
                {
                    failed++;
                    failures = Outcome<Unit>.Join(failures, o.WithoutValue());
                }
            }
            var reason = new CancelReason(CancelKind.RaceLost, $"{name}: decided after branch {last}", rcx.Task.Runtime.Now, rcx.RegionId, rcx.TaskId);
            var losers = await set.CancelAndDrainAsync(rcx, reason);
            var result = values.Count >= required ? Outcome.Ok(values.ToArray()) : Outcome<T[]>.FromNonOk(failures.Kind, failures.Payload);
            return result.JoinWith(losers);
        });
    }

    /// <summary>
    /// Runs every branch concurrently and returns the first Ok value; the others are cancelled and drained.
    /// If every branch fails, returns the lattice join of the failures.
    /// </summary>
    /// <typeparam name="T">The branches' result.</typeparam>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="branches">At least one branch.</param>
    /// <param name="name">The region name.</param>
    /// <returns>The first success, or the join of all failures.</returns>
    public static async Task<Outcome<T>> FirstOkAsync<T>(this Cx cx, IReadOnlyList<Func<Cx, Task<T>>> branches, string name = "first-ok")
    {
        var o = await QuorumAsync(cx, 1, branches, name);
        return o.Map(values => values[0]);
    }

    /// <summary>
    /// Hedged request: runs <paramref name="primary"/>; if it has not succeeded after <paramref name="delay"/>,
    /// starts <paramref name="backup"/> as well. The first Ok wins and the other is cancelled and drained; if both
    /// fail, the join of their failures is returned.
    /// </summary>
    /// <typeparam name="T">The result.</typeparam>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="delay">How long the primary runs alone.</param>
    /// <param name="primary">The first attempt.</param>
    /// <param name="backup">The hedge, started after the delay.</param>
    /// <param name="name">The region name.</param>
    /// <returns>The first success, or the join of both failures.</returns>
    /// <remarks>
    /// <para>Both branches run in the hedge's region, which inherits the caller's budget: <c>cx.Budget.Deadline</c>
    /// inside each is the tightest deadline in force (a timeout around the hedge, a retry's overall budget). The delay
    /// is a cancel-safe sleep of the backup's branch under that budget, so a backup whose delay would end past the
    /// deadline never starts: the deadline cancels the hedge first.</para>
    /// <para>Needs <see cref="Capabilities.Time"/> (the delay) and <see cref="Capabilities.Spawn"/>, checked at
    /// the call (<see cref="CapabilityException"/>), not only when the delay starts.</para>
    /// </remarks>
    /// <example>
    /// <code>
    /// var o = await cx.HedgeAsync(TimeSpan.FromMilliseconds(50), cx => QueryAsync(cx, replicaA), cx => QueryAsync(cx, replicaB));
    /// </code>
    /// </example>
    public static Task<Outcome<T>> HedgeAsync<T>(this Cx cx, TimeSpan delay, Func<Cx, Task<T>> primary, Func<Cx, Task<T>> backup, string name = "hedge")
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(backup);
        cx.Require(Capabilities.Time | Capabilities.Spawn);
        return FirstOkAsync<T>(cx, [primary, async bcx =>
        {
            await bcx.SleepAsync(delay);
            return await backup(bcx);
        }], name);
    }
}
