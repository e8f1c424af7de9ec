namespace Asupersync.Lab;

/// <summary>Forces a recorded sequence of decisions; reports the first step at which the recorded process is not enabled.</summary>
internal sealed class ReplayScheduler(IReadOnlyList<long> decisions) : ILabScheduler
{
    private int _next;

    /// <summary>Why the replay diverged, or null.</summary>
    internal string? Divergence { get; private set; }

    public int Choose(LabRun run, ReadOnlySpan<long> enabled)
    {
        if (_next >= decisions.Count)
        {
            Divergence = $"replay diverged at step {_next}: the trace ends there but the program still has work ({enabled.Length} enabled)";
            return -1;
        }
        long want = decisions[_next];
        int idx = enabled.IndexOf(want);
        if (idx < 0)
        {
            Divergence = $"replay diverged at step {_next}: the trace runs {Name(want)}, which is not enabled now (enabled: {string.Join(", ", enabled.ToArray().Select(Name))})";
            return -1;
        }
        _next++;
        return idx;
    }

    private static string Name(long p) => p == LabRun.ClockProcess ? "the clock" : $"task {p}";
}
