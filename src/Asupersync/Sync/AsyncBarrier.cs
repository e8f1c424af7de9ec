using Asupersync.Kernel;
using System.Diagnostics;

namespace Asupersync.Sync;

/// <summary>
/// Lets a fixed number of tasks wait for each other: the <c>n</c>-th arrival releases everyone, and exactly one
/// of them — the last to arrive — is told it is the leader. The barrier then resets for the next round.
/// </summary>
/// <remarks>
/// <b>Cancel-safety.</b> A task cancelled while waiting leaves the barrier: it no longer counts as arrived, so
/// the round still needs <c>n</c> live arrivals (nobody is released early by a task that went away).
/// (Named <c>AsyncBarrier</c> so that it does not clash with <see cref="System.Threading.Barrier"/> under implicit usings.)
/// </remarks>
/// <example>
/// <code>
/// var barrier = new AsyncBarrier(3);
/// var r = await barrier.WaitAsync(cx);
/// if (r.IsLeader) PublishRound();
/// </code>
/// </example>
public sealed class AsyncBarrier : IWaitOwner<bool>, IWaitForResource
{
    private readonly Lock _gate = new();
    private readonly WaitQueue<bool> _waiters = new();
    private readonly int _participants;
    private long _generation;
    private long _id;

    /// <summary>Creates a barrier for <paramref name="participants"/> tasks.</summary>
    /// <param name="participants">At least 1.</param>
    public AsyncBarrier(int participants)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(participants);
        _participants = participants;
    }

    /// <summary>How many tasks each round needs.</summary>
    public int Participants => _participants;

    /// <summary>Tasks waiting in the current round (a snapshot).</summary>
    public int Arrived
    {
        get { lock (_gate) return _waiters.Count; }
    }

    /// <summary>Arrives and waits for the round to fill. A checkpoint; cancel-safe.</summary>
    /// <param name="cx">The arriving task's context.</param>
    /// <returns>Whether this task is the round's leader, and the round number.</returns>
    public ValueTask<BarrierResult> WaitAsync(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        var task = cx.Task;
        if (ChoicePoint.IsActive(task)) return ChoicePoint.BeforeAsync(task, (this, task), static s => s.Item1.WaitCore(s.task));
        return WaitCore(task);
    }

    private ValueTask<BarrierResult> WaitCore(TaskCore task)
    {
        task.Checkpoint();
        PrimitiveWait<bool> w;
        List<PrimitiveWait<bool>>? release = null;
        long gen;
        lock (_gate)
        {
            AssertInvariants();
            PrimitiveSupport.Touch(task, ref _id, "barrier");
            gen = _generation;
            if (_waiters.Count + 1 == _participants)
            {
                release = _waiters.DrainAll();
                foreach (var r in release) r.Grant(false);
                _generation++;
                w = null!;
            }
            else
            {
                w = new PrimitiveWait<bool>(task, this) { Request = gen };
                _waiters.Enqueue(w);
            }
        }
        if (w is null)
        {
            foreach (var r in release!) r.Deliver(); // a waiter cancelled in this instant just raises; the round is over
            return new ValueTask<BarrierResult>(new BarrierResult(true, gen));
        }
        PrimitiveSupport.Park(w, "barrier", _id);
        return Slow(w, gen);

        static async ValueTask<BarrierResult> Slow(PrimitiveWait<bool> w, long gen) => new(await w.AsValueTask(), gen);
    }

    void IWaitOwner<bool>.OnWaitInterrupted(PrimitiveWait<bool> wait)
    {
        PrimitiveSupport.Touch(null, ref _id, "barrier");
        lock (_gate)
        {
            _waiters.Remove(wait); // a granted waiter was already released with its round: nothing to give back
            AssertInvariants();
        }
    }

    // The missing arrivals are anonymous (any task may arrive): known only in a closed world (the Lab, stuck).
    bool IWaitForResource.AddHolders(object wait, List<TaskCore> into, out string resource)
    {
        resource = WaitForGraph.Name("barrier", _id, this);
        var w = (PrimitiveWait<bool>)wait;
        lock (_gate)
        {
            if (!w.Queued) return false;
        }
        return WaitForGraph.AnyOtherTask(w.Task, into);
    }

    private void AssertInvariants() => PrimitiveSupport.Invariant(_waiters.Count < _participants, ref _id, "LostWakeup", "a full round is released at once");
}

/// <summary>What <see cref="AsyncBarrier.WaitAsync"/> tells a participant.</summary>
/// <param name="IsLeader">True for exactly one task per round (the last to arrive).</param>
/// <param name="Generation">The round number, from 0.</param>
public readonly record struct BarrierResult(bool IsLeader, long Generation);
