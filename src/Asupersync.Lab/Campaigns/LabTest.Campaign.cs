using System.Runtime.CompilerServices;
using Asupersync.Lab.Campaigns;

namespace Asupersync.Lab;

/// <summary>Thrown by <see cref="LabTest.Campaign"/> when a campaign fails or does not establish the bound it was asked for.</summary>
public sealed class CampaignFailureException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The report.</param>
    /// <param name="result">The campaign.</param>
    public CampaignFailureException(string message, CampaignResult result) : base(message) => Result = result;

    /// <summary>The campaign's result (its figures, its violating run if any).</summary>
    public CampaignResult Result { get; }
}

public static partial class LabTest
{
    /// <summary>
    /// Runs an anytime-valid campaign over <paramref name="program"/> (see <see cref="LabCampaign.Run"/>) and throws
    /// when it fails — an invariant violated, or a rate property shown to exceed its p₀ — or when a
    /// <see cref="CampaignOptions.TargetUpperBound"/> was asked for and the budget ran out before every bound reached it.
    /// A violating run's trace is saved and replayed from the file, so the report says whether it reproduces.
    /// </summary>
    /// <param name="program">The program.</param>
    /// <param name="options">Properties, stop rules and budgets.</param>
    /// <param name="testName">The test's name (filled in by the compiler).</param>
    /// <returns>The campaign's result (it passed).</returns>
    /// <exception cref="CampaignFailureException">The campaign failed or did not reach its target bound.</exception>
    public static CampaignResult Campaign(Func<Cx, Task> program, CampaignOptions? options = null, [CallerMemberName] string testName = "")
    {
        ArgumentNullException.ThrowIfNull(program);
        options ??= new CampaignOptions();
        var lab = options.Lab with { ProgramName = options.Lab.ProgramName ?? testName, TraceDirectory = options.Lab.TraceDirectory ?? Path.Combine(Path.GetTempPath(), "asupersync-lab") };
        options = options with { Lab = lab };
        // Determinism self-check on the first seed, as for seed sweeps: a campaign over a program that depends on
        // something outside the Lab would count noise.
        var check = LabRuntime.CheckDeterminism(options.FirstSeed, program, lab with { TraceDirectory = null });
        if (check.OracleFailures.Any(f => f.Oracle == LabOracles.Determinism))
            throw new LabFailureException($"Lab campaign {lab.ProgramName} is not deterministic: seed {options.FirstSeed} gave two different traces." + Environment.NewLine + check.Describe(), check);
        var result = LabCampaign.Run(program, options);
        if (result.Failed)
        {
            string replay = "";
            if (result.ViolatingRun is { TracePath: { } path } run)
            {
                var again = LabRuntime.Replay(path, program, lab);
                bool same = again.OracleFailures.Select(f => f.Oracle).SequenceEqual(run.OracleFailures.Select(f => f.Oracle))
                            && !again.OracleFailures.Any(f => f.Oracle == LabOracles.Determinism);
                replay = Environment.NewLine + (same ? "  replayed from the trace file: the run reproduces." : "  WARNING: replaying the trace file did not reproduce the run:" + Environment.NewLine + again.Describe());
            }
            throw new CampaignFailureException(result.Describe() + replay, result);
        }
        if (options.TargetUpperBound is not null && !result.TargetReached)
            throw new CampaignFailureException(result.Describe() + Environment.NewLine + "  the target bound was not established within the budget: raise MaxRuns (see docs/guides/lab-campaigns.md for how many runs a bound needs).", result);
        return result;
    }
}
