using Asupersync.Kernel;

namespace Asupersync.Channels;

/// <summary>
/// Receives from whichever of several mpsc channels has an item first — cancel-safe: a message is never taken
/// from one channel and lost because another won, or because the selecting task was cancelled.
/// </summary>
/// <remarks>
/// <para>How: the select never races receives. It waits for <em>readiness</em> (an item buffered in some channel,
/// or a channel's end) without taking anything, and then takes one item, in its own step, from the first ready
/// channel in argument order (biased, like Tokio's <c>select! {{ biased; … }}</c>: put the channel that must not
/// starve first, or rotate the order yourself). A cancel while waiting therefore leaves every item where it was.</para>
/// <para>A channel whose senders completed it and that is drained drops out of the select; when every channel has
/// ended, the select throws <see cref="ChannelClosedException"/> (with the first channel's error, if one ended
/// with an error, as the inner exception).</para>
/// <para>Like any receive from an mpsc channel, the select expects to be the channel's only consumer; another task
/// receiving from the same channel at the same time may take the item first — the select then simply waits on.</para>
/// </remarks>
/// <example>
/// <code>
/// while (true)
/// {
///     var (from, msg) = await Select.ReceiveAsync(cx, control, work);   // control first: biased
///     if (from == 0) HandleControl(msg); else await HandleWorkAsync(cx, msg);
/// }
/// </code>
/// </example>
public static class Select
{
    /// <summary>
    /// Waits until one of <paramref name="receivers"/> has an item and takes it. A checkpoint; cancel-safe (a
    /// cancel while waiting takes no item from any channel).
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="cx">The receiving task's context.</param>
    /// <param name="receivers">The channels, in priority order (at least one).</param>
    /// <returns>The index of the channel the item came from, and the item.</returns>
    /// <exception cref="ChannelClosedException">Every channel is completed and drained (or closed).</exception>
    /// <exception cref="CancelledException">The task was cancelled before or while waiting; nothing was taken.</exception>
    public static ValueTask<(int Index, T Item)> ReceiveAsync<T>(Cx cx, params Receiver<T>[] receivers)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(receivers);
        if (receivers.Length == 0) throw new ArgumentException("At least one receiver is required.", nameof(receivers));
        var cores = new MpscCore<T>[receivers.Length];
        for (int i = 0; i < receivers.Length; i++)
            cores[i] = (receivers[i] ?? throw new ArgumentException("A receiver is null.", nameof(receivers))).Core;
        var task = cx.Task;
        // A Lab choice point even when an item is buffered and nothing suspends: production can run another
        // task (a sender, another consumer) between two selects.
        if (ChoicePoint.IsActive(task)) return ChoicePoint.BeforeAsync(task, (task, cores), static s => ReceiveCore(s.task, s.cores));
        return ReceiveCore(task, cores);
    }

    private static ValueTask<(int Index, T Item)> ReceiveCore<T>(TaskCore task, MpscCore<T>[] cores)
    {
        task.EnsureOwnStep();
        task.Checkpoint();
        var ended = new bool[cores.Length];
        if (TryTake(cores, ended, out var hit)) return new ValueTask<(int, T)>(hit);
        return Slow(task, cores, ended);
    }

    /// <summary>Takes an item from the first channel that has one, without waiting.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="result">The channel index and the item.</param>
    /// <param name="receivers">The channels, in priority order.</param>
    /// <returns>True when an item was taken.</returns>
    public static bool TryReceive<T>(out (int Index, T Item) result, params Receiver<T>[] receivers)
    {
        ArgumentNullException.ThrowIfNull(receivers);
        var cores = new MpscCore<T>[receivers.Length];
        for (int i = 0; i < receivers.Length; i++)
            cores[i] = (receivers[i] ?? throw new ArgumentException("A receiver is null.", nameof(receivers))).Core;
        try
        {
            return TryTake(cores, new bool[cores.Length], out result);
        }
        catch (ChannelClosedException)
        {
            result = default;
            return false;
        }
    }

    /// <summary>One pass in priority order over the channels not yet ended (marked in <paramref name="ended"/>); throws when every channel has ended.</summary>
    private static bool TryTake<T>(MpscCore<T>[] cores, bool[] ended, out (int, T) result)
    {
        int count = 0;
        for (int i = 0; i < cores.Length; i++)
        {
            if (ended[i])
            {
                count++;
                continue;
            }
            if (cores[i].TryReceiveOrDrained(out var item, out bool drained))
            {
                result = (i, item);
                return true;
            }
            if (drained)
            {
                ended[i] = true; // an ended channel stays ended: it is never watched again
                count++;
            }
        }
        if (count == cores.Length)
        {
            Exception? error = null;
            foreach (var c in cores) error ??= c.Error;
            throw new ChannelClosedException("Every channel of the select is completed and empty", error);
        }
        result = default;
        return false;
    }

    private static async ValueTask<(int, T)> Slow<T>(TaskCore task, MpscCore<T>[] cores, bool[] ended)
    {
        while (true)
        {
            var op = new SelectOp<T>(task, cores, ended);
            if (op.Arm()) await op.AsUntypedValueTask(); // raises on cancel: nothing was taken
            // Ready (or woken by a channel that another consumer emptied again): look, in this step.
            if (TryTake(cores, ended, out var hit)) return hit;
        }
    }

    /// <summary>A wait for readiness on several channels: completes on the first that becomes ready; takes nothing.</summary>
    private sealed class SelectOp<T> : WaitOp<Unit>, IReadyWatcher
    {
        private readonly MpscCore<T>[] _cores;
        private readonly bool[] _ended;

        internal SelectOp(TaskCore waiter, MpscCore<T>[] cores, bool[] ended) : base(waiter)
        {
            _cores = cores;
            _ended = ended;
        }

        /// <summary>Registers with every channel not ended; false when one is ready already (then nothing stays registered).</summary>
        internal bool Arm()
        {
            for (int i = 0; i < _cores.Length; i++)
            {
                if (_ended[i]) continue;
                if (!_cores[i].WatchReady(this))
                {
                    Unwatch(i);
                    return false;
                }
            }
            // A channel that became ready while later ones were still being registered has completed this wait
            // and unregistered from the channels registered so far: drop the later registrations too.
            if (IsDone) Unwatch(_cores.Length);
            Waiter.Runtime.Observer?.OnWait(Waiter, "channel-select", 0);
            Register();
            return true;
        }

        public void OnReady()
        {
            if (TrySetResult(default)) Unwatch(_cores.Length);
        }

        protected override void OnInterrupted() => Unwatch(_cores.Length);

        private void Unwatch(int upTo)
        {
            for (int i = 0; i < upTo && i < _cores.Length; i++) _cores[i].UnwatchReady(this);
        }
    }
}
