namespace Asupersync.Lab;

/// <summary>Fires when a region closes while one of its tasks is still live, or the run ends with a live task after the root closed.</summary>
internal sealed class TaskLeakOracle : LabOracle
{
    private readonly Dictionary<long, long> _taskRegion = new();

    public override string Name => LabOracles.TaskLeak;

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        switch (e.Kind)
        {
            case LabEventKind.Spawned:
                _taskRegion[e.TaskId] = e.ObjectId;
                break;
            case LabEventKind.Completed:
                _taskRegion.Remove(e.TaskId);
                break;
            case LabEventKind.RegionState when e.Code == (int)RegionState.Closed:
                foreach (var (task, region) in _taskRegion)
                {
                    if (region == e.ObjectId)
                        cx.Report(this, $"{cx.Describe(task)} outlived its {cx.Describe(region)}, which closed at step {e.Step}", task, region);
                }
                break;
        }
    }

    public override void OnRunEnd(LabOracleContext cx)
    {
        if (!cx.RootClosed) return;
        foreach (var (task, region) in _taskRegion)
            cx.Report(this, $"{cx.Describe(task)} of {cx.Describe(region)} is still live after the root closed", task, region);
    }
}
