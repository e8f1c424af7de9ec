namespace Asupersync;

public static partial class Combinators
{
    /// <summary>
    /// Runs two branches concurrently and waits for both. The outcome is Ok with both values when both are Ok;
    /// otherwise the lattice join of their outcomes (the most severe wins).
    /// </summary>
    /// <typeparam name="TA">The first branch's result.</typeparam>
    /// <typeparam name="TB">The second branch's result.</typeparam>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="first">The first branch.</param>
    /// <param name="second">The second branch.</param>
    /// <param name="name">The region name.</param>
    /// <returns>Ok((a, b)) or the join of the failures.</returns>
    /// <example>
    /// <code>
    /// var o = await cx.JoinAsync(cx => LoadUserAsync(cx, id), cx => LoadOrdersAsync(cx, id));
    /// var (user, orders) = o.Value;
    /// </code>
    /// </example>
    public static Task<Outcome<(TA, TB)>> JoinAsync<TA, TB>(this Cx cx, Func<Cx, Task<TA>> first, Func<Cx, Task<TB>> second, string name = "join")
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        return InRegionAsync<(TA, TB)>(cx, name, async rcx =>
        {
            var ha = rcx.Spawn(name + "[0]", first);
            var hb = rcx.Spawn(name + "[1]", second);
            var a = await ha.JoinAsync(rcx);
            var b = await hb.JoinAsync(rcx);
            if (a.IsOk && b.IsOk) return Outcome.Ok((a.Value, b.Value));
            var j = Outcome<Unit>.Join(a.WithoutValue(), b.WithoutValue());
            return Outcome<(TA, TB)>.FromNonOk(j.Kind, j.Payload);
        });
    }

    /// <summary>
    /// Runs every branch concurrently and waits for all of them (none is cancelled because another failed).
    /// </summary>
    /// <typeparam name="T">The branches' result.</typeparam>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="branches">The branches (may be empty).</param>
    /// <param name="name">The region name.</param>
    /// <returns>Ok(values in branch order) when all are Ok; otherwise the lattice join of every outcome.</returns>
    public static Task<Outcome<T[]>> JoinAllAsync<T>(this Cx cx, IReadOnlyList<Func<Cx, Task<T>>> branches, string name = "join")
    {
        ArgumentNullException.ThrowIfNull(branches);
        return InRegionAsync<T[]>(cx, name, async rcx =>
        {
            var handles = new TaskHandle<T>[branches.Count];
            for (int i = 0; i < handles.Length; i++) handles[i] = rcx.Spawn($"{name}[{i}]", branches[i] ?? throw new ArgumentException("A branch is null.", nameof(branches)));
            var values = new T[handles.Length];
            var acc = Outcome.Ok();
            for (int i = 0; i < handles.Length; i++)
            {
                var o = await handles[i].JoinAsync(rcx);
                if (o.TryGetValue(out var v)) values[i] = v;
                else acc = Outcome<Unit>.Join(acc, o.WithoutValue());
            }
            return acc.IsOk ? Outcome.Ok(values) : Outcome<T[]>.FromNonOk(acc.Kind, acc.Payload);
        });
    }
}
