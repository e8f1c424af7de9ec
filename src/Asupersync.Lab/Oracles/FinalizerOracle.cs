namespace Asupersync.Lab;

/// <summary>Fires when a region closes without having run one of its registered finalizers, or runs one twice.</summary>
internal sealed class FinalizerOracle : LabOracle
{
    private readonly Dictionary<long, int> _registered = new();
    private readonly Dictionary<long, HashSet<int>> _ran = new();

    public override string Name => LabOracles.Finalizer;

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        switch (e.Kind)
        {
            case LabEventKind.FinalizerRegistered:
                _registered[e.ObjectId] = _registered.GetValueOrDefault(e.ObjectId) + 1;
                break;
            case LabEventKind.FinalizerRun:
                if (!_ran.TryGetValue(e.ObjectId, out var set)) _ran[e.ObjectId] = set = new HashSet<int>();
                if (!set.Add(e.Code)) cx.Report(this, $"finalizer #{e.Code} of {cx.Describe(e.ObjectId)} ran twice", e.ObjectId);
                if (e.Code >= _registered.GetValueOrDefault(e.ObjectId))
                    cx.Report(this, $"finalizer #{e.Code} of {cx.Describe(e.ObjectId)} ran but was never registered", e.ObjectId);
                break;
            case LabEventKind.RegionState when e.Code == (int)RegionState.Closed:
                int n = _registered.GetValueOrDefault(e.ObjectId);
                var ran = _ran.GetValueOrDefault(e.ObjectId);
                for (int i = 0; i < n; i++)
                {
                    if (ran is null || !ran.Contains(i))
                        cx.Report(this, $"{cx.Describe(e.ObjectId)} closed without running finalizer #{i} (of {n})", e.ObjectId);
                }
                break;
        }
    }
}
