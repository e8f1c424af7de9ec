namespace Asupersync.Lab;

/// <summary>Fires when an obligation is marked Leaked (its holder ended Ok or Err with it Reserved, or its region closed with it).</summary>
internal sealed class ObligationLeakOracle : LabOracle
{
    public override string Name => LabOracles.ObligationLeak;

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        if (e.Kind == LabEventKind.Obligation && e.Code == (int)ObligationState.Leaked)
            cx.Report(this, $"obligation {e.ObjectId} '{e.Text}' held by {cx.Describe(e.TaskId)} in {cx.Describe(e.Aux)} leaked", e.ObjectId, e.TaskId, e.Aux);
    }
}
