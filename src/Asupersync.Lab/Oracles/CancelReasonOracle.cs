namespace Asupersync.Lab;

/// <summary>
/// Fires when a later cancel request weakens what an earlier one set: a lower-tier reason than the task already had,
/// or a cleanup budget that ends later (a later deadline, or a higher poll limit) than the one already in force.
/// Requests may only strengthen the reason and only tighten the budget (DESIGN §2.5).
/// </summary>
internal sealed class CancelReasonOracle : LabOracle
{
    private readonly Dictionary<long, (long Tier, int Kind)> _strongest = new();
    private readonly Dictionary<long, (long Deadline, long PollLimit)> _tightest = new();

    public override string Name => LabOracles.CancelReason;

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        if (e.Kind == LabEventKind.CleanupBudget)
        {
            OnBudget(e, cx);
            return;
        }
        if (e.Kind != LabEventKind.CancelRequested) return;
        if (_strongest.TryGetValue(e.TaskId, out var prev) && e.Aux < prev.Tier)
        {
            cx.Report(this, $"{cx.Describe(e.TaskId)}'s cancel reason was weakened from {(CancelKind)prev.Kind} (tier {prev.Tier}) to {(CancelKind)e.Code} (tier {e.Aux})", e.TaskId);
            return;
        }
        _strongest[e.TaskId] = (e.Aux, e.Code);
    }

    private void OnBudget(in LabEvent e, LabOracleContext cx)
    {
        // -1 means "none", which is looser than any bound.
        long deadline = e.Aux < 0 ? long.MaxValue : e.Aux, polls = e.Extra < 0 ? long.MaxValue : e.Extra;
        if (_tightest.TryGetValue(e.TaskId, out var prev))
        {
            if (deadline > prev.Deadline)
            {
                cx.Report(this, $"{cx.Describe(e.TaskId)}'s cleanup deadline was lengthened from {Ms(prev.Deadline)} to {Ms(deadline)} by a later cancel request", e.TaskId);
                return;
            }
            if (polls > prev.PollLimit)
            {
                cx.Report(this, $"{cx.Describe(e.TaskId)}'s cleanup poll limit was raised from {Polls(prev.PollLimit)} to {Polls(polls)} by a later cancel request", e.TaskId);
                return;
            }
        }
        _tightest[e.TaskId] = (deadline, polls);
    }

    private static string Ms(long ticks) => ticks == long.MaxValue ? "none" : $"{TimeSpan.FromTicks(ticks).TotalMilliseconds}ms";

    private static string Polls(long n) => n == long.MaxValue ? "none" : $"poll {n}";
}
