using System.Diagnostics;

namespace Asupersync.Lab.Campaigns;

/// <summary>
/// Anytime-valid Lab campaigns: run a program over many independently drawn schedules, monitor properties with
/// e-processes and confidence sequences, and stop by the first rule that fires — an invariant violated, evidence
/// that a flaky property fails more often than allowed, a rate bound as tight as asked, or a budget.
/// </summary>
/// <remarks>
/// Why stopping early is allowed: every figure is a test supermartingale or a confidence sequence, valid at every
/// moment at once (Ville's inequality), so looking after each run and stopping on what you see keeps the stated
/// error level. See <see cref="Statistics.BettingEProcess"/> and <see cref="Statistics.RateConfidenceSequence"/> for the
/// constructions and references, and docs/guides/lab-campaigns.md for how to choose the options.
/// </remarks>
/// <example>
/// <code>
/// var result = LabCampaign.Run(program, new CampaignOptions
/// {
///     Properties = [CampaignProperty.TaskLeak, CampaignProperty.OtherFailures(nullRate: 0.01)],
///     TargetUpperBound = 0.02,
///     MaxRuns = 50_000,
/// });
/// Console.WriteLine(result.Describe());
/// </code>
/// </example>
public static class LabCampaign
{
    /// <summary>Runs a campaign (or the shard of it named by <see cref="CampaignOptions.Shard"/>).</summary>
    /// <param name="program">The root body.</param>
    /// <param name="options">Properties, stop rules and budgets; null for the defaults.</param>
    /// <returns>What was run, what each property shows, and which rule stopped it.</returns>
    /// <exception cref="ArgumentException">The options are inconsistent (α outside (0, 1), no property, two properties with one name, a bad shard).</exception>
    public static CampaignResult Run(Func<Cx, Task> program, CampaignOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        options ??= new CampaignOptions();
        Validate(options);
        var plan = CampaignPlan.From(options);
        var props = options.Properties;
        int m = props.Count;
        double logThreshold = -Math.Log(plan.AlphaEach);
        var monitored = props.Where(p => p.OracleName is not null).Select(p => p.OracleName!).ToHashSet(StringComparer.Ordinal);
        var counts = new CampaignCounts(m);
        var estimators = props.Select(p => new Statistics.BettingEProcess(p.NullRate ?? 0)).ToArray();
        var lab = options.Lab with { RecordEvents = options.RecordEvents, TraceDirectory = null };
        int horizon = CampaignSampler.PctHorizon(program, lab, options.FirstSeed, options.Strategy);
#pragma warning disable RS0030 // the wall-clock budget of the search itself (MaxWallTime), read outside every run
        var sw = Stopwatch.StartNew();
#pragma warning restore RS0030
        var nextProgress = options.ProgressInterval;
        bool timedOut = false;
        var shard = options.Shard;
        // A shard stops early only on an invariant's violation: evidence and the target bound are the campaign's,
        // decided on the merged counts, not on one shard's share of them.
        bool sharded = !shard.IsSingle;

        for (long i = shard.Index; i < options.MaxRuns; i += shard.Count)
        {
            if (sw.Elapsed > options.MaxWallTime)
            {
                timedOut = true;
                break;
            }
            ulong seed = options.FirstSeed + (ulong)i;
            var run = CampaignSampler.Run(seed, program, lab, options.Strategy, horizon);
            counts.Runs++;
            bool stop = false;
            for (int j = 0; j < m; j++)
            {
                if (!props[j].IsViolatedBy(run, monitored)) continue;
                counts.Record(j, i, seed);
                // An e-value only rises at a violation (every bet loses otherwise), so this is the only place it can cross.
                if (props[j].IsInvariant || (!sharded && LogE(estimators[j], counts, j) >= logThreshold)) stop = true;
            }
            if (!stop && !sharded && options.TargetUpperBound is { } target && counts.AllBoundsBelow(target, logThreshold)) stop = true;
            if (options.Progress is { } progress && sw.Elapsed >= nextProgress)
            {
                progress(new CampaignProgress(counts.Runs, sw.Elapsed, counts.Results(plan), false));
                nextProgress = sw.Elapsed + options.ProgressInterval;
            }
            if (stop) break;
        }

        var result = CampaignResult.Create(plan, [shard.Index], counts, timedOut, sw.Elapsed, null);
        if (result.FirstViolation is { } v)
        {
            // Re-run the violating schedule with every event recorded, so that it can be saved, replayed and looked at.
            var full = CampaignSampler.Run(v.Seed, program, options.Lab with { RecordEvents = true, TraceDirectory = null }, options.Strategy, horizon);
            string? path = options.Lab.TraceDirectory is { } dir ? full.SaveTrace(dir) : null;
            result = result.WithViolatingRun(full, path);
        }
        options.Progress?.Invoke(new CampaignProgress(counts.Runs, sw.Elapsed, result.Properties, true));
        return result;
    }

    private static double LogE(Statistics.BettingEProcess e, CampaignCounts counts, int j) => e.LogEValueOf(counts.Runs, counts.Violations[j]);

    private static void Validate(CampaignOptions o)
    {
        if (!(o.Alpha > 0 && o.Alpha < 1)) throw new ArgumentException($"Alpha must be in (0, 1); got {o.Alpha}.", nameof(o));
        if (o.Properties is null || o.Properties.Count == 0) throw new ArgumentException("A campaign monitors at least one property.", nameof(o));
        var dup = o.Properties.GroupBy(p => p.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"Two properties are named '{dup.Key}'.", nameof(o));
        if (o.MaxRuns <= 0) throw new ArgumentException($"MaxRuns must be positive; got {o.MaxRuns}.", nameof(o));
        if (o.TargetUpperBound is { } t && !(t > 0 && t < 1)) throw new ArgumentException($"TargetUpperBound must be in (0, 1); got {t}.", nameof(o));
        try
        {
            o.Shard.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"Bad shard {o.Shard.Index}/{o.Shard.Count}: {e.Message}", nameof(o), e);
        }
    }
}
