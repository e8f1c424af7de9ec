using Asupersync.Lab.Exploration;

namespace Asupersync.Lab.Campaigns;

/// <summary>Draws one campaign run from its seed alone, so that any process given the same seed draws the same run.</summary>
internal static class CampaignSampler
{
    private const ulong PortfolioSalt = 0x63616D706169676EUL; // "campaign"

    /// <summary>The step horizon PCT draws its change points over, measured once from a random run of the first seed (every shard measures the same).</summary>
    internal static int PctHorizon(Func<Cx, Task> program, LabOptions lab, ulong firstSeed, CampaignStrategy strategy) =>
        strategy == CampaignStrategy.Random ? 0 : Math.Max(2, LabRuntime.Run(firstSeed, program, lab with { RecordEvents = false, TraceDirectory = null }).Steps);

    internal static LabRunResult Run(ulong seed, Func<Cx, Task> program, LabOptions lab, CampaignStrategy strategy, int pctHorizon)
    {
        int depth = strategy switch
        {
            CampaignStrategy.Random => 0,
            CampaignStrategy.Pct => 3,
            _ => (int)(SplitMix64.Mix(seed ^ PortfolioSalt) % 3) switch { 0 => 0, 1 => 2, _ => 3 },
        };
        return depth == 0
            ? LabRuntime.Run(seed, program, lab)
            : LabRuntime.Execute(seed, program, lab, new PctScheduler(seed, depth, pctHorizon), "pct");
    }
}
