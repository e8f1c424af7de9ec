using System.Threading.Channels;

namespace Asupersync.Extensions;

/// <summary>
/// <see cref="System.Threading.Channels"/> under a Cx: cancel-safe receive and send on a
/// <see cref="ChannelReader{T}"/> / <see cref="ChannelWriter{T}"/> shared with code outside the runtime.
/// </summary>
/// <remarks>
/// <para>Why not <c>cx.AwaitAsync(reader.ReadAsync(token))</c>: an item can be handed to a pending
/// <c>ReadAsync</c> in the same instant the cancel arrives; abandoning that read loses the item. These adapters
/// wait with <c>WaitToReadAsync</c>/<c>WaitToWriteAsync</c>, which consume nothing, and take or put the item with
/// <c>TryRead</c>/<c>TryWrite</c> in the task's own step — so a cancel while waiting leaves the channel exactly
/// as it was: no lost item, no phantom write.</para>
/// <para>Each call is a checkpoint (a pending cancel raises before anything is taken or written).</para>
/// <para>In the Lab, create the channel with <c>AllowSynchronousContinuations = true</c> so that waiting readers are
/// woken on the Lab's thread. A <see cref="SendAsync{T}"/> that has to wait on a full bounded channel is still woken
/// from the thread pool (the channel completes waiting writers asynchronously), which the Lab reports as
/// nondeterminism: Lab-tested code that needs back-pressure should use the runtime's own mpsc channel.</para>
/// </remarks>
public static class ChannelCx
{
    /// <summary>Receives the next item, waiting while the channel is empty. Cancel-safe: a cancel while waiting takes nothing.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="reader">The channel's reader.</param>
    /// <param name="cx">The receiving task's context.</param>
    /// <returns>The item.</returns>
    /// <exception cref="ChannelClosedException">The channel completed and is empty (its completion error, if any, is the inner exception).</exception>
    public static async ValueTask<T> ReceiveAsync<T>(this ChannelReader<T> reader, Cx cx)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(cx);
        while (true)
        {
            cx.Checkpoint();
            if (reader.TryRead(out var item)) return item;
            if (!await WaitToReadAsync(reader, cx)) throw Closed(reader);
        }
    }

    /// <summary>Receives the next item if one is ready, without waiting. Not a wait; still a checkpoint.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="reader">The channel's reader.</param>
    /// <param name="cx">The receiving task's context.</param>
    /// <param name="item">The item, when one was ready.</param>
    /// <returns>Whether an item was taken.</returns>
    public static bool TryReceive<T>(this ChannelReader<T> reader, Cx cx, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T item)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(cx);
        cx.Checkpoint();
        return reader.TryRead(out item);
    }

    /// <summary>
    /// The channel's items as an async stream under <paramref name="cx"/>: ends when the channel completes; each
    /// step is a cancel-safe <see cref="ReceiveAsync"/> (an item already taken is always yielded to the loop body).
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="reader">The channel's reader.</param>
    /// <param name="cx">The receiving task's context.</param>
    /// <returns>The items.</returns>
    public static async IAsyncEnumerable<T> ReadAllAsync<T>(this ChannelReader<T> reader, Cx cx)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(cx);
        while (true)
        {
            cx.Checkpoint();
            while (reader.TryRead(out var item))
            {
                yield return item;
                cx.Checkpoint();
            }
            if (!await WaitToReadAsync(reader, cx)) yield break;
        }
    }

    /// <summary>Sends an item, waiting while a bounded channel is full. Cancel-safe: a cancel while waiting writes nothing.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="writer">The channel's writer.</param>
    /// <param name="cx">The sending task's context.</param>
    /// <param name="item">The item.</param>
    /// <returns>A task completing once the item is in the channel.</returns>
    /// <exception cref="ChannelClosedException">The channel was completed.</exception>
    public static async ValueTask SendAsync<T>(this ChannelWriter<T> writer, Cx cx, T item)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(cx);
        while (true)
        {
            cx.Checkpoint();
            if (writer.TryWrite(item)) return;
            var wait = writer.WaitToWriteAsync(cx.CancellationToken);
            if (!(wait.IsCompletedSuccessfully ? wait.Result : await cx.AwaitAsync(wait.AsTask()))) throw new ChannelClosedException();
        }
    }

    private static async ValueTask<bool> WaitToReadAsync<T>(ChannelReader<T> reader, Cx cx)
    {
        // WaitToReadAsync consumes nothing, so abandoning it on cancel (AwaitAsync does) is safe.
        var wait = reader.WaitToReadAsync(cx.CancellationToken);
        try
        {
            return wait.IsCompletedSuccessfully ? wait.Result : await cx.AwaitAsync(wait.AsTask());
        }
        catch (Exception e) when (e is not OperationCanceledException && reader.Completion.IsFaulted)
        {
            throw new ChannelClosedException(e); // as ChannelReader.ReadAsync reports a faulted channel
        }
    }

    private static ChannelClosedException Closed<T>(ChannelReader<T> reader) =>
        reader.Completion is { IsFaulted: true } c ? new ChannelClosedException(c.Exception!.InnerException) : new ChannelClosedException();
}
