namespace Asupersync.Extensions;

/// <summary>Consuming a foreign <see cref="IAsyncEnumerable{T}"/> (EF Core queries, gRPC streams, <c>ReadAllAsync</c>, …) under a Cx.</summary>
public static class AsyncEnumerableCx
{
    /// <summary>
    /// Enumerates <paramref name="source"/> as a task of <paramref name="cx"/>: the source gets the task's cancel
    /// token, every step is a checkpoint, and the enumerator is always disposed.
    /// </summary>
    /// <remarks>
    /// <para><b>Cancel-safety.</b> The cancel is raised <em>between</em> items, never over one: an item the source
    /// already produced is yielded to the loop body, and the next step's checkpoint raises. A step in progress is
    /// not abandoned: the source is told through the token and the step is awaited until the source honours it (a
    /// source that ignores its token delays the cancel — the runtime reports such a task as overrunning its cleanup
    /// budget rather than leaving the source running behind it). What a cancel can leave: work the source did
    /// towards the next item (a row read ahead, a message pulled from a broker) is the source's to release when it
    /// sees its token; no item that reached the caller is lost.</para>
    /// </remarks>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="source">The foreign stream.</param>
    /// <param name="cx">The consuming task's context.</param>
    /// <returns>The same items, under the cancel protocol.</returns>
    /// <example><code>await foreach (var row in db.Orders.AsAsyncEnumerable().WithCx(cx)) { ... }</code></example>
    public static IAsyncEnumerable<T> WithCx<T>(this IAsyncEnumerable<T> source, Cx cx)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(cx);
        return Enumerate(source, cx);
    }

    private static async IAsyncEnumerable<T> Enumerate<T>(IAsyncEnumerable<T> source, Cx cx)
    {
        cx.Checkpoint();
        await using var e = source.GetAsyncEnumerator(cx.CancellationToken);
        while (true)
        {
            cx.Checkpoint();
            // A plain await (resumes through the task's context): the step runs to its end, honouring the token.
            if (!await e.MoveNextAsync()) yield break;
            yield return e.Current;
        }
    }
}
