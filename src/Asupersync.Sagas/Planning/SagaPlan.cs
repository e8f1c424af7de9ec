using System.Globalization;
using System.Text;

namespace Asupersync.Sagas;

/// <summary>
/// One stage of a <see cref="SagaPlan"/>: steps that run together. Stages run in order; a stage starts only
/// after every step of the previous stages completed and its completion is durable in the log.
/// </summary>
/// <param name="Index">The stage's position (0-based).</param>
/// <param name="Steps">The step indices it runs.</param>
/// <param name="Concurrent">True when its steps run concurrently (a run of monotone steps).</param>
/// <param name="Barrier">True when it is a non-monotone step preceded by a barrier (every earlier step complete and durable).</param>
public sealed record SagaStage(int Index, IReadOnlyList<int> Steps, bool Concurrent, bool Barrier);

/// <summary>
/// How a saga runs: its steps grouped into stages by the CALM analysis (<see cref="SagaPlanning.Calm"/>) or one
/// step per stage (<see cref="SagaPlanning.Sequential"/>). Made by <see cref="Saga.Plan"/>.
/// </summary>
public sealed class SagaPlan
{
    private readonly Saga _saga;

    private SagaPlan(Saga saga, SagaPlanning planning, IReadOnlyList<SagaStage> stages)
    {
        _saga = saga;
        Planning = planning;
        Stages = stages;
    }

    /// <summary>The planning mode this plan was made with.</summary>
    public SagaPlanning Planning { get; }

    /// <summary>The stages, in execution order.</summary>
    public IReadOnlyList<SagaStage> Stages { get; }

    /// <summary>How many barriers the plan has (one before each non-monotone step that has earlier steps).</summary>
    public int BarrierCount => Stages.Count(s => s.Barrier);

    internal static SagaPlan Build(Saga saga, SagaPlanning planning)
    {
        var stages = new List<SagaStage>();
        var run = new List<int>();
        void Flush()
        {
            if (run.Count == 0) return;
            stages.Add(new SagaStage(stages.Count, run.ToArray(), run.Count > 1, Barrier: false));
            run.Clear();
        }
        for (int i = 0; i < saga.Steps.Count; i++)
        {
            var kind = saga.Steps[i].Kind;
            if (planning == SagaPlanning.Calm && kind.IsMonotone())
            {
                run.Add(i);
                continue;
            }
            Flush();
            bool nonMonotone = !kind.IsMonotone();
            stages.Add(new SagaStage(stages.Count, [i], Concurrent: false, Barrier: i > 0 && (planning == SagaPlanning.Sequential || nonMonotone)));
        }
        Flush();
        return new SagaPlan(saga, planning, stages);
    }

    /// <summary>A readable description of the plan: stages, their steps with kinds and classification, and the barriers.</summary>
    /// <returns>The text (several lines).</returns>
    public string Explain()
    {
        var inv = CultureInfo.InvariantCulture;
        var steps = _saga.Steps;
        int monotone = steps.Count(s => s.Kind.IsMonotone());
        var sb = new StringBuilder();
        sb.Append(inv, $"saga '{_saga.Name}': {steps.Count} steps in {Stages.Count} stages ({Planning} plan; {monotone} monotone, {steps.Count - monotone} non-monotone; {BarrierCount} barriers)").AppendLine();
        int width = steps.Count == 0 ? 0 : steps.Max(s => s.Name.Length);
        foreach (var stage in Stages)
        {
            if (stage.Barrier)
            {
                int last = stage.Steps[0] - 1;
                var why = Planning == SagaPlanning.Sequential && steps[stage.Steps[0]].Kind.IsMonotone()
                    ? "sequential plan"
                    : $"{steps[stage.Steps[0]].Kind} is non-monotone";
                sb.Append(inv, $"  -- barrier: steps 0..{last} complete and durable ({why})").AppendLine();
            }
            else if (stage.Index > 0)
            {
                sb.Append(inv, $"  -- after stage {stage.Index}").AppendLine();
            }
            sb.Append(inv, $"  stage {stage.Index + 1}: ");
            sb.Append(stage.Concurrent ? $"{stage.Steps.Count} steps concurrently, no barrier between them" : "one step").AppendLine();
            foreach (int i in stage.Steps)
            {
                var s = steps[i];
                sb.Append(inv, $"    [{i}] {s.Name.PadRight(width)}  {s.Kind,-13} {(s.Kind.IsMonotone() ? "monotone" : "non-monotone")}");
                if (s.Compensate is null) sb.Append("  (no compensation)");
                sb.AppendLine();
            }
        }
        sb.Append("  on failure or cancel: compensate the started steps in LIFO order (newest start first), masked, under the cleanup budget");
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => Explain();
}
