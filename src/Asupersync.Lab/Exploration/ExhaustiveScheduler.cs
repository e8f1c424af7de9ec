namespace Asupersync.Lab.Exploration;

/// <summary>Depth-first enumeration of every schedule (an odometer over the choice at each step).</summary>
internal sealed class ExhaustiveScheduler : ILabScheduler
{
    private readonly List<(int Index, int Count)> _path = new();

    /// <summary>Set when a replayed prefix found a different number of choices (the program is not deterministic).</summary>
    internal string? Divergence { get; private set; }

    public int Choose(LabRun run, ReadOnlySpan<long> enabled)
    {
        int k = run.StepCount;
        if (k < _path.Count)
        {
            var (index, count) = _path[k];
            if (count != enabled.Length)
            {
                Divergence = $"the program is not deterministic: step {k} had {count} choices before and {enabled.Length} now";
                return -1;
            }
            return index;
        }
        _path.Add((0, enabled.Length));
        return 0;
    }

    /// <summary>Advances to the next schedule; false when all were run.</summary>
    internal bool Next(int stepsRun)
    {
        if (_path.Count > stepsRun) _path.RemoveRange(stepsRun, _path.Count - stepsRun);
        while (_path.Count > 0)
        {
            var (index, count) = _path[^1];
            if (index + 1 < count)
            {
                _path[^1] = (index + 1, count);
                return true;
            }
            _path.RemoveAt(_path.Count - 1);
        }
        return false;
    }
}
