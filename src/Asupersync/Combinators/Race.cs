namespace Asupersync;

public static partial class Combinators
{
    /// <summary>
    /// Races two branches: the first to finish wins; the loser is cancelled with
    /// <see cref="CancelKind.RaceLost"/> and <em>awaited</em> before this returns.
    /// </summary>
    /// <typeparam name="T">The branches' result.</typeparam>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="first">One branch.</param>
    /// <param name="second">The other branch.</param>
    /// <param name="name">The race's region name (for diagnostics).</param>
    /// <returns>The winner's outcome, joined with any loser outcome more severe than its RaceLost cancellation
    /// (a loser that panics while draining makes the race Panicked).</returns>
    /// <example>
    /// <code>
    /// var o = await cx.RaceAsync(cx => FetchAsync(cx, primary), cx => FetchAsync(cx, mirror));
    /// </code>
    /// </example>
    public static Task<Outcome<T>> RaceAsync<T>(this Cx cx, Func<Cx, Task<T>> first, Func<Cx, Task<T>> second, string name = "race") =>
        RaceAllAsync(cx, [first, second], name);

    /// <summary>
    /// Races any number of branches (see <see cref="RaceAsync{T}"/>): the first to finish — whatever its
    /// outcome — wins; every other branch is cancelled with <see cref="CancelKind.RaceLost"/> and drained before
    /// this returns.
    /// </summary>
    /// <typeparam name="T">The branches' result.</typeparam>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="branches">At least one branch.</param>
    /// <param name="name">The race's region name.</param>
    /// <returns>The winner's outcome joined with any loser outcome more severe than RaceLost.</returns>
    public static async Task<Outcome<T>> RaceAllAsync<T>(this Cx cx, IReadOnlyList<Func<Cx, Task<T>>> branches, string name = "race")
    {
        var o = await SelectAllAsync(cx, branches, name);
        return o.Map(s => s.Value);
    }

    /// <summary>
    /// Like <see cref="RaceAllAsync{T}"/>, and also tells which branch won.
    /// </summary>
    /// <typeparam name="T">The branches' result.</typeparam>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="branches">At least one branch.</param>
    /// <param name="name">The region name.</param>
    /// <returns>Ok(index, value) of the winner, or its failure (joined with severe loser outcomes).</returns>
    /// <example>
    /// <code>
    /// var o = await cx.SelectAllAsync([cx => rxA.ReceiveAsync(cx).AsTask(), cx => rxB.ReceiveAsync(cx).AsTask()]);
    /// if (o.IsOk) Console.WriteLine($"branch {o.Value.Index} gave {o.Value.Value}");
    /// </code>
    /// </example>
    public static Task<Outcome<Selected<T>>> SelectAllAsync<T>(this Cx cx, IReadOnlyList<Func<Cx, Task<T>>> branches, string name = "select")
    {
        Check(branches);
        return InRegionAsync<Selected<T>>(cx, name, async rcx =>
        {
            var set = new BranchSet<T>(rcx, name, branches);
            var (winner, outcome) = await set.NextAsync(rcx);
            var losers = await set.CancelAndDrainAsync(rcx, Lost(rcx, name, winner));
            return outcome.Map(v => new Selected<T>(winner, v)).JoinWith(losers);
        });
    }
}

/// <summary>The winner of a select: which branch, and its value.</summary>
/// <typeparam name="T">The value type.</typeparam>
/// <param name="Index">The winning branch's position in the list.</param>
/// <param name="Value">Its value.</param>
public readonly record struct Selected<T>(int Index, T Value);
