namespace Asupersync.Lab;

/// <summary>Fires when a cancelled task runs past its cleanup budget (or never reaches a checkpoint before it runs out).</summary>
internal sealed class BudgetOverrunOracle : LabOracle
{
    public override string Name => LabOracles.BudgetOverrun;

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        if (e.Kind == LabEventKind.BudgetOverrun)
            cx.Report(this, $"{cx.Describe(e.TaskId)} in {cx.Describe(e.ObjectId)} overran its cleanup budget", e.TaskId, e.ObjectId);
    }
}
