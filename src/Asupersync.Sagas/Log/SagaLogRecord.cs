namespace Asupersync.Sagas;

/// <summary>A transition to append to a saga's log (the store assigns its sequence number).</summary>
/// <param name="SagaId">The saga.</param>
/// <param name="Transition">What happened.</param>
/// <param name="Step">The step index, or -1 for a saga-level transition.</param>
/// <param name="Data">Transition data (header, output, error), or null.</param>
/// <param name="Time">When, on the runtime's wall clock (<see cref="Cx.UtcNow"/>).</param>
public readonly record struct SagaLogEntry(string SagaId, SagaTransition Transition, int Step, string? Data, DateTimeOffset Time);

/// <summary>A durable record of a saga's log.</summary>
/// <param name="SagaId">The saga.</param>
/// <param name="Sequence">Its position in the saga's log, from 1, without gaps.</param>
/// <param name="Transition">What happened.</param>
/// <param name="Step">The step index, or -1.</param>
/// <param name="Data">Transition data, or null.</param>
/// <param name="Time">When (runtime wall clock, UTC).</param>
public sealed record SagaLogRecord(string SagaId, long Sequence, SagaTransition Transition, int Step, string? Data, DateTimeOffset Time)
{
    /// <inheritdoc />
    public override string ToString() => $"{SagaId}#{Sequence} {Transition}{(Step >= 0 ? $" step {Step}" : "")}{(Data is null ? "" : " '" + (Data.Length > 60 ? Data[..60] + "…" : Data) + "'")}";
}
