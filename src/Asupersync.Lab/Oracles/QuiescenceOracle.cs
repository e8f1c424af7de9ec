namespace Asupersync.Lab;

/// <summary>
/// Fires when a region reaches Closed while it still holds something — a live task, an open child region, a
/// Reserved obligation — or when the run ends after the root closed with anything still open.
/// </summary>
internal sealed class QuiescenceOracle : LabOracle
{
    private readonly Dictionary<long, long> _openRegions = new();   // region -> parent
    private readonly Dictionary<long, long> _reserved = new();      // obligation -> region
    private readonly Dictionary<long, long> _liveTasks = new();     // task -> region

    public override string Name => LabOracles.Quiescence;

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        switch (e.Kind)
        {
            case LabEventKind.RegionOpened:
                _openRegions[e.ObjectId] = e.Aux;
                break;
            case LabEventKind.Spawned:
                _liveTasks[e.TaskId] = e.ObjectId;
                break;
            case LabEventKind.Completed:
                _liveTasks.Remove(e.TaskId);
                break;
            case LabEventKind.Obligation:
                if (e.Code == (int)ObligationState.Reserved) _reserved[e.ObjectId] = e.Aux;
                else _reserved.Remove(e.ObjectId);
                break;
            case LabEventKind.RegionState when e.Code == (int)RegionState.Closed:
                long region = e.ObjectId;
                _openRegions.Remove(region);
                foreach (var (o, r) in _reserved)
                {
                    if (r == region) cx.Report(this, $"{cx.Describe(region)} closed with obligation {o} still Reserved", region, o);
                }
                foreach (var (child, parent) in _openRegions)
                {
                    if (parent == region) cx.Report(this, $"{cx.Describe(region)} closed with child {cx.Describe(child)} still open", region, child);
                }
                foreach (var (t, r) in _liveTasks)
                {
                    if (r == region) cx.Report(this, $"{cx.Describe(region)} closed with {cx.Describe(t)} still live", region, t);
                }
                break;
        }
    }

    public override void OnRunEnd(LabOracleContext cx)
    {
        if (!cx.RootClosed) return;
        foreach (var r in _openRegions.Keys) cx.Report(this, $"{cx.Describe(r)} is still open after the root closed", r);
        foreach (var (o, r) in _reserved) cx.Report(this, $"obligation {o} of {cx.Describe(r)} is still Reserved after the root closed", o, r);
    }
}
