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
    public static async Task<Outcome<T>> RaceAsync<T>(this Cx cx, Func<Cx, Task<T>> first, Func<Cx, Task<T>> second, string name = "race")
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        return (await RaceCoreAsync(cx, name, first, second, null)).Outcome;
    }

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
        Check(branches);
        return (await RaceCoreAsync(cx, name, null, null, branches)).Outcome;
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
        return Select(cx, branches, name);

        static async Task<Outcome<Selected<T>>> Select(Cx cx, IReadOnlyList<Func<Cx, Task<T>>> branches, string name)
        {
            var (winner, o) = await RaceCoreAsync(cx, name, null, null, branches);
            return o.Map(v => new Selected<T>(winner, v));
        }
    }

    private static readonly int s_lostTier = CancelReason.TierOf(CancelKind.RaceLost);

    /// <summary>
    /// The race itself, on the caller's task (<see cref="HeldRace{T}"/>): start the branches in order (each first
    /// step inline where the driver allows it; once one has completed, the rest are never started), wait for the
    /// first to complete, cancel the others with RaceLost and drain them, close the region.
    /// </summary>
    private static async ValueTask<(int Winner, Outcome<T> Outcome)> RaceCoreAsync<T>(Cx cx, string name,
        Func<Cx, Task<T>>? first, Func<Cx, Task<T>>? second, IReadOnlyList<Func<Cx, Task<T>>>? list)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(name);
        cx.Require(Capabilities.Spawn);
        cx.Task.Checkpoint();
        int n = list?.Count ?? 2;
        var race = new HeldRace<T>(cx, name, n, s_collectAll);
        for (int i = 0; i < n; i++)
        {
            if (race.First >= 0) break;
            var body = list is null ? (i == 0 ? first! : second!) : list[i];
            if (!race.TryStart(cx, BranchName(name, i), body)) break;
        }
        int winner = -1;
        Outcome<T> outcome = default;
        if (race.Started > 0)
        {
            await race.WaitAsync(all: false);
            winner = race.First;
            outcome = race.OutcomeOf(winner);
            if (race.AnyRunning)
            {
                race.CancelOthers(winner, new CancelReason(CancelKind.RaceLost, $"{name}: branch {winner} finished first", cx.Task.Runtime.Now, race.Region.Id, cx.TaskId));
                await race.WaitAsync(all: true);
            }
            outcome = outcome.JoinWith(race.SevereLosers(winner, s_lostTier));
        }
        return (winner, await race.CloseAsync(outcome, computed: winner >= 0, name));
    }

    private static readonly string[] s_raceNames = ["race[0]", "race[1]", "race[2]", "race[3]"];
    private static readonly string[] s_selectNames = ["select[0]", "select[1]", "select[2]", "select[3]"];

    /// <summary>A branch's task name; the default names are cached (no formatting per race).</summary>
    private static string BranchName(string name, int i) => i < 4 && name == "race" ? s_raceNames[i]
        : i < 4 && name == "select" ? s_selectNames[i]
        : i == 0 && name == "timeout" ? "timeout[0]"
        : $"{name}[{i}]";
}

/// <summary>The winner of a select: which branch, and its value.</summary>
/// <typeparam name="T">The value type.</typeparam>
/// <param name="Index">The winning branch's position in the list.</param>
/// <param name="Value">Its value.</param>
public readonly record struct Selected<T>(int Index, T Value);
