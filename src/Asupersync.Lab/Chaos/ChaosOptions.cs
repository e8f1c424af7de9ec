namespace Asupersync.Lab.Chaos;

/// <summary>
/// Seeded fault injection for Lab runs: spurious cancels of running tasks and delays (virtual time jumps)
/// before steps. Every decision comes from the run's chaos stream, so a seed still replays exactly.
/// </summary>
/// <param name="Name">A name for reports and traces.</param>
/// <param name="CancelProbability">Chance, before each step, of a spurious User cancel of one live task.</param>
/// <param name="DelayProbability">Chance, before each step, of a virtual delay.</param>
/// <param name="MaxDelay">Upper bound of one delay.</param>
/// <param name="CancelRootTask">Whether the root body may itself be cancelled (default false: only tasks below it).</param>
public sealed record ChaosOptions(string Name, double CancelProbability, double DelayProbability, TimeSpan MaxDelay, bool CancelRootTask = false)
{
    /// <summary>No fault injection.</summary>
    public static ChaosOptions None { get; } = new("none", 0, 0, TimeSpan.Zero);

    /// <summary>Rare faults: 1% spurious cancels, 5% delays of up to 10 ms.</summary>
    public static ChaosOptions Light { get; } = new("light", 0.01, 0.05, TimeSpan.FromMilliseconds(10));

    /// <summary>Frequent faults: 5% spurious cancels, 20% delays of up to 100 ms.</summary>
    public static ChaosOptions Heavy { get; } = new("heavy", 0.05, 0.2, TimeSpan.FromMilliseconds(100));

    /// <summary>Only delays (no cancels): 20% delays of up to 50 ms; shakes out timing assumptions.</summary>
    public static ChaosOptions DelaysOnly { get; } = new("delays", 0, 0.2, TimeSpan.FromMilliseconds(50));

    /// <summary>True when some fault can be injected.</summary>
    public bool IsEnabled => CancelProbability > 0 || (DelayProbability > 0 && MaxDelay > TimeSpan.Zero);

    /// <summary>The preset with the given name (none, light, heavy, delays).</summary>
    /// <param name="name">A preset name.</param>
    /// <returns>The preset.</returns>
    public static ChaosOptions Preset(string name) => name.ToLowerInvariant() switch
    {
        "none" => None,
        "light" => Light,
        "heavy" => Heavy,
        "delays" => DelaysOnly,
        _ => throw new ArgumentException($"Unknown chaos preset '{name}' (none, light, heavy, delays).", nameof(name)),
    };
}
