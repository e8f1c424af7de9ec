namespace Asupersync.Lab;

/// <summary>
/// SplitMix64: the Lab's seed expander and random stream. Each stream of a run (schedule, entropy, chaos) is
/// seeded from the user's seed through <see cref="Mix"/> with a distinct salt, so that nearby seeds (s and s+1)
/// give unrelated streams rather than one stream shifted by a step.
/// </summary>
internal struct SplitMix64
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;
    private ulong _state;

    internal SplitMix64(ulong seed) => _state = seed;

    /// <summary>The SplitMix64 finalizer: a bijective avalanche of all 64 bits.</summary>
    internal static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A stream for <paramref name="seed"/> and a per-purpose <paramref name="salt"/>.</summary>
    internal static SplitMix64 ForStream(ulong seed, ulong salt) => new(Mix(Mix(seed) ^ salt));

    internal ulong Next()
    {
        _state += Gamma;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, n) (Lemire's multiply-shift; bias is negligible for the small n the Lab uses).</summary>
    internal int NextInt(int n) => (int)(((Next() >> 32) * (ulong)(uint)n) >> 32);

    internal double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}
