using System.Diagnostics;

namespace Asupersync.Lab.Exploration;

/// <summary>Runs schedules of a program with one strategy, within bounds, and collects classes and failures.</summary>
internal static class Explorer
{
    internal static ExploreResult Run(Func<Cx, Task> program, ExploreOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxSchedules);
        bool systematic = options.Strategy is ExploreStrategy.Dpor or ExploreStrategy.Exhaustive;
        if (systematic && options.Lab.Chaos.IsEnabled)
            throw new ArgumentException("Chaos injection draws from a random stream and cannot be combined with DPOR or exhaustive search; use Random or PCT.", nameof(options));
        if (options.MaxPreemptions is not null && options.Strategy == ExploreStrategy.Dpor)
            throw new ArgumentException("DPOR does not support a preemption bound; use Exhaustive, Random or PCT with MaxPreemptions.", nameof(options));
        var lab = options.Lab with { MaxSteps = options.MaxStepsPerSchedule, RecordEvents = false };
        var sw = Stopwatch.StartNew();
        var classes = new HashSet<ulong>();
        var failures = new List<LabRunResult>();
        int schedules = 0, pruned = 0, redundant = 0;
        bool exhausted = false;
        string stop = "schedule bound";
        var seeds = new SplitMix64(SplitMix64.Mix(options.Seed ^ 0x6578706C6F7265UL));
        var dpor = options.Strategy == ExploreStrategy.Dpor ? new DporScheduler() : null;
        var exhaustive = options.Strategy == ExploreStrategy.Exhaustive ? new ExhaustiveScheduler() : null;
        int expectedSteps = 64;
        string strategyName = options.Strategy.ToString().ToLowerInvariant();

        while (schedules < options.MaxSchedules)
        {
            if (sw.Elapsed > options.MaxWallTime)
            {
                stop = "wall-time bound";
                break;
            }
            ulong seed = systematic ? options.Seed : seeds.Next();
            ILabScheduler scheduler = options.Strategy switch
            {
                ExploreStrategy.Random => new RandomScheduler(seed),
                ExploreStrategy.Pct => new PctScheduler(seed, options.PctDepth, expectedSteps),
                ExploreStrategy.Dpor => dpor!,
                _ => exhaustive!,
            };
            if (options.MaxPreemptions is { } bound) scheduler = new PreemptionBoundedScheduler(scheduler, bound);
            var run = new LabRun(seed, lab, scheduler);
            run.Execute(program);
            string? divergence = dpor?.Divergence ?? exhaustive?.Divergence;
            if (divergence is not null)
            {
                run.Fail(LabOracles.Determinism, divergence, []);
                failures.Add(LabRuntime.Finish(run, seed, strategyName));
                stop = "determinism failure";
                break;
            }
            bool blocked = dpor is not null && dpor.Blocked;
            if (blocked)
            {
                pruned++;
            }
            else
            {
                schedules++;
                if (run.StepCount > expectedSteps) expectedSteps = run.StepCount;
                if (!classes.Add(Foata.Fingerprint(run))) redundant++;
                if (run.Failures.Count > 0 || run.Outcome is null || run.Outcome.Value.IsPanicked)
                {
                    failures.Add(Reproduce(program, run, seed, lab, strategyName));
                    if (options.StopOnFirstFailure)
                    {
                        stop = "first failure";
                        break;
                    }
                }
            }
            if (dpor is not null)
            {
                dpor.AfterRun(run);
                if (!dpor.Next())
                {
                    exhausted = true;
                    stop = "exhausted";
                    break;
                }
            }
            else if (exhaustive is not null && !exhaustive.Next(run.StepCount))
            {
                exhausted = true;
                stop = "exhausted";
                break;
            }
        }
        return new ExploreResult(options.Strategy, schedules, pruned, classes, redundant, exhausted, stop, failures, sw.Elapsed);
    }

    /// <summary>Re-runs a failing schedule with full event recording, so that its trace can be saved and replayed.</summary>
    private static LabRunResult Reproduce(Func<Cx, Task> program, LabRun failed, ulong seed, LabOptions lab, string strategy)
    {
        var options = lab with { RecordEvents = true };
        var result = LabRuntime.Execute(seed, program, options, new ReplayScheduler(failed.Decisions.ToArray()), strategy);
        if (!result.Passed) return result;
        // The failure did not reproduce under the same decisions: the program is not deterministic.
        var run = new LabRun(seed, options, new ReplayScheduler(failed.Decisions.ToArray()));
        run.Execute(program);
        run.Fail(LabOracles.Determinism, $"a failing schedule ({string.Join("; ", failed.Failures.Select(f => f.Oracle))}) did not fail again when re-run with the same decisions", []);
        return LabRuntime.Finish(run, seed, strategy);
    }
}
