namespace Asupersync.Lab;

/// <summary>Random walk: every step picks uniformly among the enabled processes, from the seed's schedule stream.</summary>
internal sealed class RandomScheduler(ulong seed) : ILabScheduler
{
    private SplitMix64 _rng = SplitMix64.ForStream(seed, 0x7363686564UL);

    public int Choose(LabRun run, ReadOnlySpan<long> enabled) => enabled.Length == 1 ? 0 : _rng.NextInt(enabled.Length);
}
