namespace Asupersync.Lab.Exploration;

/// <summary>
/// PCT (Burckhardt et al.): each process gets a random priority above <c>d</c> when first seen; the highest-priority
/// enabled process runs; at <c>d − 1</c> random steps the running process drops to a low priority (d−2 … 0).
/// </summary>
internal sealed class PctScheduler : ILabScheduler
{
    private readonly Dictionary<long, long> _priority = new();
    private readonly int[] _changePoints;
    private SplitMix64 _rng;
    private readonly int _depth;

    internal PctScheduler(ulong seed, int depth, int expectedSteps)
    {
        _depth = Math.Max(1, depth);
        _rng = SplitMix64.ForStream(seed, 0x706374UL);
        _changePoints = new int[_depth - 1];
        for (int i = 0; i < _changePoints.Length; i++) _changePoints[i] = _rng.NextInt(Math.Max(1, expectedSteps));
    }

    public int Choose(LabRun run, ReadOnlySpan<long> enabled)
    {
        for (int i = 0; i < enabled.Length; i++)
        {
            if (!_priority.ContainsKey(enabled[i])) _priority[enabled[i]] = _depth + (long)(_rng.Next() >> 2);
        }
        int best = Best(enabled);
        int step = run.StepCount;
        for (int c = 0; c < _changePoints.Length; c++)
        {
            if (_changePoints[c] == step)
            {
                _priority[enabled[best]] = _depth - 2 - c;
                best = Best(enabled);
            }
        }
        return best;
    }

    private int Best(ReadOnlySpan<long> enabled)
    {
        int best = 0;
        long bp = _priority[enabled[0]];
        for (int i = 1; i < enabled.Length; i++)
        {
            long p = _priority[enabled[i]];
            if (p > bp)
            {
                bp = p;
                best = i;
            }
        }
        return best;
    }
}
