namespace Asupersync.Lab;

/// <summary>Fires when a task uses an effect (time, spawn, entropy, I/O) that its Cx does not grant.</summary>
internal sealed class AmbientAuthorityOracle : LabOracle
{
    public override string Name => LabOracles.AmbientAuthority;

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        if (e.Kind != LabEventKind.CapabilityViolation) return;
        if (e.Text is { } t && t.StartsWith("token:", StringComparison.Ordinal))
            cx.Report(this, $"{cx.Describe(e.TaskId)} acted outside its capability token's scope: {t["token:".Length..]}", e.TaskId);
        else
            cx.Report(this, $"{cx.Describe(e.TaskId)} used an effect that needs the {e.Text} capability, which its Cx does not grant", e.TaskId);
    }
}
