using Asupersync.Kernel;

namespace Asupersync.Scheduling;

/// <summary>
/// The Lyapunov governor (<see cref="RuntimeOptions.SteerByPotential"/>): the production scheduler's cancel and timed
/// lanes, ordered so that the task dispatched is the one whose progress lowers the potential V fastest under the
/// configured <see cref="PotentialWeights"/>, within the streak limits. Every call is made under the scheduler's lane
/// lock; the task fields it reads are racy hints (a stale read only changes an order, never loses a task).
/// </summary>
/// <remarks>
/// <para>A task's <em>score</em> is what its finishing would remove from V beyond the w₁ every task carries:
/// w₂ · the age in seconds of the oldest obligation it holds + w₄ · its deadline urgency, where urgency is
/// H / (H + slack) for a task with a deadline (1 when past due; H = 1 s), else 0 — the slack-weighted deadline pressure.</para>
/// <para>Cancel lane: harsher cancel reasons first (as without the governor), then the highest score, then arrival order.
/// ObligationFocused therefore drains the holders of the oldest obligations first, DeadlineFocused the least slack first.</para>
/// <para>Between lanes: the timed lane (earliest deadline first, as without the governor) goes ahead of the cancel lane
/// when its head scores higher than the cancel lane's head, at most <see cref="RuntimeOptions.CancelStreakLimit"/> times
/// in a row; the cancel lane still yields to the other lanes after that many consecutive dispatches. No lane starves.</para>
/// </remarks>
internal sealed class Governor(PotentialWeights weights, int streakLimit)
{
    private static readonly double HorizonSeconds = 1.0;

    private readonly PriorityQueue<TaskCore, (int Tier, double Score, long Seq)> _cancel = new();
    private readonly PriorityQueue<TaskCore, (TimeSpan Deadline, long Seq)> _timed = new();
    private long _seq;
    private int _bypass; // consecutive timed dispatches that went ahead of a non-empty cancel lane

    internal PotentialWeights Weights => weights;

    /// <summary>The part of V the task's progress would remove (see the remarks).</summary>
    internal double Score(TaskCore t, TimeSpan now)
    {
        double score = 0;
        if (t.OldestHeldReservedAt is { } at && now > at) score += weights.ObligationAgeSeconds * (now - at).TotalSeconds;
        if (t.Deadline is { } d)
        {
            double slack = (d - now).TotalSeconds;
            score += weights.DeadlinePressure * (slack <= 0 ? 1.0 : HorizonSeconds / (HorizonSeconds + slack));
        }
        return score;
    }

    internal void Add(TaskCore task, Lane lane, TimeSpan now)
    {
        long seq = ++_seq;
        if (lane == Lane.Cancel) _cancel.Enqueue(task, (-task.CancelTier, -Score(task, now), seq));
        else _timed.Enqueue(task, (task.Deadline ?? TimeSpan.MaxValue, seq));
    }

    /// <summary>The next task of the two lanes, or null when neither should be served now (the caller serves its ready lanes).</summary>
    internal TaskCore? Take(TimeSpan now, ref int streak, out bool fromCancel)
    {
        bool cancelOk = _cancel.Count > 0 && streak < streakLimit;
        if (cancelOk && _timed.Count > 0 && _bypass < streakLimit
            && _timed.TryPeek(out var timedHead, out _) && _cancel.TryPeek(out var cancelHead, out _)
            && Score(timedHead, now) > Score(cancelHead, now))
        {
            _bypass++;
            fromCancel = false;
            return _timed.Dequeue();
        }
        if (cancelOk)
        {
            _bypass = 0;
            streak++;
            fromCancel = true;
            return _cancel.Dequeue();
        }
        // Streak used up (or no cancel work): the other lanes once, before the cancel lane again.
        streak = 0;
        fromCancel = false;
        return _timed.Count > 0 ? _timed.Dequeue() : null;
    }
}
