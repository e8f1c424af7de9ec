namespace Asupersync.Lab;

/// <summary>
/// Checks the shape of the region tree: a region opens under an open parent, closes only after all its children
/// closed, never changes state after Closed, and admits tasks only while not Closed.
/// </summary>
internal sealed class RegionTreeOracle : LabOracle
{
    private readonly Dictionary<long, long> _parent = new();
    private readonly HashSet<long> _closed = new();

    public override string Name => LabOracles.RegionTree;

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        switch (e.Kind)
        {
            case LabEventKind.RegionOpened:
                if (_parent.ContainsKey(e.ObjectId) || _closed.Contains(e.ObjectId))
                    cx.Report(this, $"{cx.Describe(e.ObjectId)} opened twice", e.ObjectId);
                if (e.Aux != 0 && (!_parent.ContainsKey(e.Aux) || _closed.Contains(e.Aux)))
                    cx.Report(this, $"{cx.Describe(e.ObjectId)} opened under {(_closed.Contains(e.Aux) ? "closed" : "unknown")} parent {cx.Describe(e.Aux)}", e.ObjectId, e.Aux);
                _parent[e.ObjectId] = e.Aux;
                break;
            case LabEventKind.Spawned:
                if (!_parent.ContainsKey(e.ObjectId) || _closed.Contains(e.ObjectId))
                    cx.Report(this, $"{cx.Describe(e.TaskId)} was admitted into {(_closed.Contains(e.ObjectId) ? "closed" : "unknown")} {cx.Describe(e.ObjectId)}", e.TaskId, e.ObjectId);
                break;
            case LabEventKind.RegionState:
                if (_closed.Contains(e.ObjectId))
                {
                    cx.Report(this, $"{cx.Describe(e.ObjectId)} changed state to {(RegionState)e.Code} after it closed", e.ObjectId);
                    break;
                }
                if (e.Code == (int)RegionState.Closed)
                {
                    foreach (var (child, parent) in _parent)
                    {
                        if (parent == e.ObjectId && !_closed.Contains(child))
                            cx.Report(this, $"{cx.Describe(e.ObjectId)} closed before its child {cx.Describe(child)}", e.ObjectId, child);
                    }
                    _closed.Add(e.ObjectId);
                }
                break;
        }
    }
}
