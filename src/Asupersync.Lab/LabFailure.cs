namespace Asupersync.Lab;

/// <summary>One finding of an oracle in one Lab run.</summary>
/// <param name="Oracle">The oracle that fired (TaskLeak, ObligationLeak, Deadlock, Determinism, …).</param>
/// <param name="Message">What it saw, naming tasks and regions.</param>
/// <param name="Step">The scheduling step at which it fired (-1 at the end of the run).</param>
/// <param name="Objects">Ids of the runtime objects involved (tasks, regions, obligations).</param>
public sealed record LabFailure(string Oracle, string Message, int Step, IReadOnlyList<long> Objects)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"[{Oracle}] at step {Step}: {Message}" + (Objects.Count > 0 ? $" (objects: {string.Join(", ", Objects)})" : "");
}
