using System.Diagnostics;

namespace Asupersync.Lab.Exploration;

/// <summary>Runs schedules of a program with one strategy (or a portfolio of them), within bounds, and collects classes and failures.</summary>
internal static class Explorer
{
    /// <summary>
    /// The portfolio's rotation: which member runs each schedule, cycling. Random walk finds most shallow bugs
    /// within a handful of schedules; PCT at depth 2 and 3 finds the ones that need one or two preemptions at a
    /// precise place; DPOR enumerates classes and is the only member that can end the search with "exhausted".
    /// </summary>
    private static readonly Member[] Rotation =
    [
        new(ExploreStrategy.Random, 0), new(ExploreStrategy.Pct, 2), new(ExploreStrategy.Random, 0), new(ExploreStrategy.Dpor, 0),
        new(ExploreStrategy.Random, 0), new(ExploreStrategy.Pct, 3), new(ExploreStrategy.Random, 0), new(ExploreStrategy.Pct, 2),
    ];

    private readonly record struct Member(ExploreStrategy Strategy, int PctDepth)
    {
        internal string Name => Strategy switch
        {
            ExploreStrategy.Pct => $"pct{PctDepth}",
            _ => Strategy.ToString().ToLowerInvariant(),
        };
    }

    internal static ExploreResult Run(Func<Cx, Task> program, ExploreOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxSchedules);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.PctDepth);
        bool portfolio = options.Strategy == ExploreStrategy.Portfolio;
        bool systematic = options.Strategy is ExploreStrategy.Dpor or ExploreStrategy.Exhaustive;
        if (systematic && options.Lab.Chaos.IsEnabled)
            throw new ArgumentException("Chaos injection draws from a random stream and cannot be combined with DPOR or exhaustive search; use Random or PCT.", nameof(options));
        if (portfolio && options.Lab.Chaos.IsEnabled)
            throw new ArgumentException("Chaos injection cannot be combined with the portfolio (its DPOR member needs a chaos-free program); use Random or PCT.", nameof(options));
        if (options.MaxPreemptions is not null && options.Strategy is ExploreStrategy.Dpor or ExploreStrategy.Portfolio)
            throw new ArgumentException("DPOR (alone or in the portfolio) does not support a preemption bound; use Exhaustive, Random or PCT with MaxPreemptions.", nameof(options));
        var lab = options.Lab with { MaxSteps = options.MaxStepsPerSchedule, RecordEvents = false };
#pragma warning disable RS0030 // the wall-clock budget of the search itself (MaxWallTime), read outside every run
        var sw = Stopwatch.StartNew();
#pragma warning restore RS0030
        var classes = new HashSet<ulong>();
        var failures = new List<LabRunResult>();
        int schedules = 0, pruned = 0, redundant = 0, firstFailureSchedule = 0;
        string? firstFailureStrategy = null;
        bool exhausted = false, dporDone = false;
        string stop = "schedule bound";
        var seeds = new SplitMix64(SplitMix64.Mix(options.Seed ^ 0x6578706C6F7265UL));
        var dpor = options.Strategy is ExploreStrategy.Dpor or ExploreStrategy.Portfolio ? new DporScheduler() : null;
        var exhaustive = options.Strategy == ExploreStrategy.Exhaustive ? new ExhaustiveScheduler() : null;
        // PCT draws its change points over k, the length of a schedule. It is learnt from the runs (the longest
        // seen so far); before the first run a short program is assumed, so change points land inside it.
        int observedSteps = 0;
        int turn = 0;
        var progress = options.Progress;
        var nextProgress = options.ProgressInterval;

        while (schedules < options.MaxSchedules)
        {
            if (progress is not null && sw.Elapsed >= nextProgress)
            {
                progress(new ExploreProgress(schedules, pruned, classes.Count, failures.Count, sw.Elapsed, Finished: false));
                nextProgress = sw.Elapsed + options.ProgressInterval;
            }
            if (sw.Elapsed > options.MaxWallTime)
            {
                stop = "wall-time bound";
                break;
            }
            var member = portfolio ? NextMember(ref turn, dporDone) : new Member(options.Strategy, options.PctDepth);
            bool isDpor = member.Strategy == ExploreStrategy.Dpor;
            bool isSystematic = isDpor || member.Strategy == ExploreStrategy.Exhaustive;
            // The DPOR member of a portfolio runs with the base seed (its entropy must be the same in every run).
            ulong seed = isSystematic ? options.Seed : seeds.Next();
            int k = observedSteps > 0 ? observedSteps : 16;
            ILabScheduler scheduler = member.Strategy switch
            {
                ExploreStrategy.Random => new RandomScheduler(seed),
                ExploreStrategy.Pct => new PctScheduler(seed, member.PctDepth, k),
                ExploreStrategy.Dpor => dpor!,
                _ => exhaustive!,
            };
            if (options.MaxPreemptions is { } bound) scheduler = new PreemptionBoundedScheduler(scheduler, bound);
            var run = new LabRun(seed, lab, scheduler);
            run.Execute(program);
            string? divergence = isDpor ? dpor!.Divergence : isSystematic ? exhaustive!.Divergence : null;
            if (divergence is not null)
            {
                run.Fail(LabOracles.Determinism, divergence, []);
                failures.Add(LabRuntime.Finish(run, seed, member.Name));
                firstFailureSchedule = schedules + 1;
                firstFailureStrategy = member.Name;
                stop = "determinism failure";
                break;
            }
            bool blocked = isDpor && dpor!.Blocked;
            if (blocked)
            {
                pruned++;
            }
            else
            {
                schedules++;
                if (run.StepCount > observedSteps) observedSteps = run.StepCount;
                if (!classes.Add(Foata.Fingerprint(run))) redundant++;
                if (run.Failures.Count > 0 || run.Outcome is null || run.Outcome.Value.IsPanicked)
                {
                    if (failures.Count == 0)
                    {
                        firstFailureSchedule = schedules;
                        firstFailureStrategy = member.Name;
                    }
                    failures.Add(Reproduce(program, run, seed, lab, member.Name));
                    if (options.StopOnFirstFailure)
                    {
                        stop = "first failure";
                        break;
                    }
                }
            }
            if (isDpor)
            {
                dpor!.AfterRun(run);
                if (!dpor.Next())
                {
                    // Every class was covered by the DPOR runs: the only way an exploration claims exhaustion.
                    exhausted = true;
                    dporDone = true;
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
        progress?.Invoke(new ExploreProgress(schedules, pruned, classes.Count, failures.Count, sw.Elapsed, Finished: true));
        return new ExploreResult(options.Strategy, schedules, pruned, classes, redundant, exhausted, stop, failures, sw.Elapsed)
        {
            FirstFailureSchedule = firstFailureSchedule,
            FirstFailureStrategy = firstFailureStrategy,
            SharedState = lab.SharedState,
        };
    }

    private static Member NextMember(ref int turn, bool dporDone)
    {
        while (true)
        {
            var m = Rotation[turn++ % Rotation.Length];
            if (m.Strategy != ExploreStrategy.Dpor || !dporDone) return m;
        }
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
