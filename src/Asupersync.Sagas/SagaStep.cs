namespace Asupersync.Sagas;

/// <summary>One step of a <see cref="Saga"/>: an action and its compensation.</summary>
public sealed class SagaStep
{
    internal SagaStep(int index, string name, SagaOpKind kind, Func<Cx, SagaStepContext, Task<string?>> action, Func<Cx, SagaStepContext, Task>? compensate)
    {
        Index = index;
        Name = name;
        Kind = kind;
        Action = action;
        Compensate = compensate;
    }

    /// <summary>The step's position in the saga (0-based).</summary>
    public int Index { get; }

    /// <summary>The step's name.</summary>
    public string Name { get; }

    /// <summary>The operation kind (decides coordination; see <see cref="SagaOpKinds.IsMonotone"/>).</summary>
    public SagaOpKind Kind { get; }

    internal Func<Cx, SagaStepContext, Task<string?>> Action { get; }

    internal Func<Cx, SagaStepContext, Task>? Compensate { get; }

    /// <inheritdoc />
    public override string ToString() => $"[{Index}] {Name} ({Kind})";
}
