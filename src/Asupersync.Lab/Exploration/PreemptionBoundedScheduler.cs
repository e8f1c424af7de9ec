namespace Asupersync.Lab.Exploration;

/// <summary>
/// Wraps a strategy with a preemption bound: switching away from the process that ran the previous step while it
/// is still enabled is a preemption; once the budget is spent, the previous process keeps running while it can.
/// </summary>
internal sealed class PreemptionBoundedScheduler(ILabScheduler inner, int maxPreemptions) : ILabScheduler
{
    private long _last = long.MinValue;
    private int _used;

    /// <summary>Preemptions used by the current run.</summary>
    internal int Used => _used;

    public int Choose(LabRun run, ReadOnlySpan<long> enabled)
    {
        int lastIdx = _last == long.MinValue ? -1 : enabled.IndexOf(_last);
        int idx;
        if (lastIdx >= 0 && _used >= maxPreemptions)
        {
            // Out of budget: the inner strategy sees a single choice, so systematic strategies do not branch here.
            int inner1 = inner.Choose(run, enabled.Slice(lastIdx, 1));
            if (inner1 < 0) return -1;
            idx = lastIdx;
        }
        else
        {
            idx = inner.Choose(run, enabled);
            if (idx < 0) return -1;
            if (lastIdx >= 0 && idx != lastIdx) _used++;
        }
        _last = enabled[idx];
        return idx;
    }
}
