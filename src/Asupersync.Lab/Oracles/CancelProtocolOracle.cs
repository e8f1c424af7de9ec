namespace Asupersync.Lab;

/// <summary>
/// Checks the order of each task's cancel-protocol phases: a task runs only between spawn and completion, a
/// cancel is acknowledged only after it was requested, it is raised once (plus at most one "cleanup budget
/// exhausted" raise), and a task completes once.
/// </summary>
internal sealed class CancelProtocolOracle : LabOracle
{
    private enum Phase : byte { Running, Requested, Acknowledged, Overrun, Completed }

    private readonly Dictionary<long, Phase> _phase = new();

    public override string Name => LabOracles.CancelProtocol;

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        switch (e.Kind)
        {
            case LabEventKind.Spawned:
                if (_phase.ContainsKey(e.TaskId)) cx.Report(this, $"{cx.Describe(e.TaskId)} was spawned twice", e.TaskId);
                _phase[e.TaskId] = Phase.Running;
                break;
            case LabEventKind.Step:
            case LabEventKind.Wait:
                if (!_phase.TryGetValue(e.TaskId, out var p)) cx.Report(this, $"task {e.TaskId} ran ({e.Kind}) before it was spawned", e.TaskId);
                else if (p == Phase.Completed) cx.Report(this, $"{cx.Describe(e.TaskId)} ran ({e.Kind}) after it completed", e.TaskId);
                break;
            case LabEventKind.CancelRequested:
                if (!_phase.TryGetValue(e.TaskId, out p)) cx.Report(this, $"a cancel was requested for task {e.TaskId} before it was spawned", e.TaskId);
                else if (p == Phase.Completed) cx.Report(this, $"a cancel was requested for {cx.Describe(e.TaskId)} after it completed", e.TaskId);
                else if (p == Phase.Running) _phase[e.TaskId] = Phase.Requested;
                break;
            case LabEventKind.CancelAcknowledged:
                _phase.TryGetValue(e.TaskId, out p);
                switch (p)
                {
                    case Phase.Requested:
                        _phase[e.TaskId] = Phase.Acknowledged;
                        break;
                    case Phase.Acknowledged when e.Code == (int)CancelKind.Deadline:
                        _phase[e.TaskId] = Phase.Overrun; // the one extra raise when the cleanup budget ran out
                        break;
                    case Phase.Running:
                        cx.Report(this, $"{cx.Describe(e.TaskId)} acknowledged a cancel that was never requested", e.TaskId);
                        break;
                    default:
                        cx.Report(this, $"{cx.Describe(e.TaskId)} raised its cancel again in phase {p} (a cancel is raised once)", e.TaskId);
                        break;
                }
                break;
            case LabEventKind.Completed:
                if (_phase.TryGetValue(e.TaskId, out p) && p == Phase.Completed) cx.Report(this, $"{cx.Describe(e.TaskId)} completed twice", e.TaskId);
                _phase[e.TaskId] = Phase.Completed;
                break;
        }
    }
}
