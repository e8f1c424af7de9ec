namespace Asupersync.Lab;

/// <summary>Fires when a child (task or region) has a later deadline than the region it belongs to: a child can never outlive its parent's deadline.</summary>
internal sealed class DeadlineMonotoneOracle : LabOracle
{
    private readonly Dictionary<long, long> _regionDeadline = new();

    public override string Name => LabOracles.DeadlineMonotone;

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        switch (e.Kind)
        {
            case LabEventKind.RegionOpened:
                _regionDeadline[e.ObjectId] = e.Extra;
                if (e.Aux != 0 && _regionDeadline.TryGetValue(e.Aux, out long pd) && Later(e.Extra, pd))
                    cx.Report(this, $"{cx.Describe(e.ObjectId)} has deadline {Show(e.Extra)}, later than its parent {cx.Describe(e.Aux)}'s {Show(pd)}", e.ObjectId, e.Aux);
                break;
            case LabEventKind.Spawned:
                if (_regionDeadline.TryGetValue(e.ObjectId, out long rd) && Later(e.Extra, rd))
                    cx.Report(this, $"{cx.Describe(e.TaskId)} has deadline {Show(e.Extra)}, later than its {cx.Describe(e.ObjectId)}'s {Show(rd)}", e.TaskId, e.ObjectId);
                break;
        }
    }

    // -1 means "no deadline", which is later than any deadline.
    private static bool Later(long child, long parent) => parent >= 0 && (child < 0 || child > parent);

    private static string Show(long ticks) => ticks < 0 ? "none" : $"{TimeSpan.FromTicks(ticks).TotalMilliseconds}ms";
}
