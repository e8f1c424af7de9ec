namespace Asupersync.Lab;

/// <summary>Fires when a later cancel request leaves a task with a weaker (lower-tier) reason than it already had: requests may only strengthen.</summary>
internal sealed class CancelReasonOracle : LabOracle
{
    private readonly Dictionary<long, (long Tier, int Kind)> _strongest = new();

    public override string Name => LabOracles.CancelReason;

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        if (e.Kind != LabEventKind.CancelRequested) return;
        if (_strongest.TryGetValue(e.TaskId, out var prev) && e.Aux < prev.Tier)
        {
            cx.Report(this, $"{cx.Describe(e.TaskId)}'s cancel reason was weakened from {(CancelKind)prev.Kind} (tier {prev.Tier}) to {(CancelKind)e.Code} (tier {e.Aux})", e.TaskId);
            return;
        }
        _strongest[e.TaskId] = (e.Aux, e.Code);
    }
}
