namespace Asupersync.Lab.Campaigns;

/// <summary>A snapshot of a running campaign, for progress displays.</summary>
/// <param name="Runs">Runs done by this process so far.</param>
/// <param name="Elapsed">Wall-clock time so far.</param>
/// <param name="Properties">Each property's figures so far (e-value, bound).</param>
/// <param name="Finished">True for the last snapshot.</param>
public sealed record CampaignProgress(long Runs, TimeSpan Elapsed, IReadOnlyList<CampaignPropertyResult> Properties, bool Finished)
{
    /// <summary>Runs per wall-clock second so far.</summary>
    public double RunsPerSecond => Elapsed > TimeSpan.Zero ? Runs / Elapsed.TotalSeconds : 0;

    /// <summary>One line: runs, runs/s, and per property its violations, e-value and bound.</summary>
    /// <returns>The text.</returns>
    public string Describe() =>
        FormattableString.Invariant($"{Runs} runs, {RunsPerSecond:N0} runs/s") + "; " + string.Join("; ", Properties.Select(p => p.Brief()));
}
