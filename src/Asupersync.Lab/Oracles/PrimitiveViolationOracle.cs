namespace Asupersync.Lab;

/// <summary>
/// Reports violations that primitives detect themselves (a loser not drained, a half-done committed send, a lost
/// or duplicate wakeup), delivered through the kernel observer as <c>"oracle:&lt;Name&gt;:&lt;message&gt;"</c>.
/// </summary>
internal sealed class PrimitiveViolationOracle : LabOracle
{
    public override string Name => "PrimitiveViolation";

    public override void OnEvent(in LabEvent e, LabOracleContext cx)
    {
        if (e.Kind != LabEventKind.PrimitiveViolation) return;
        var text = e.Text ?? "";
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = colon > 0 ? text[..colon] : Name;
        var message = colon > 0 ? text[(colon + 1)..] : text;
        cx.Report(name, $"{message} (object {e.ObjectId}{(e.TaskId != 0 ? ", " + cx.Describe(e.TaskId) : "")})", e.ObjectId, e.TaskId);
    }
}
