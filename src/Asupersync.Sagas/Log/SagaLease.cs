namespace Asupersync.Sagas;

/// <summary>
/// A worker's claim on a saga in a store shared by several workers (<see cref="SagaLogStore.SupportsLeases"/>). The
/// epoch grows with every claim, and every append checks it (fencing): a worker whose lease was taken over can no
/// longer write, so it can no longer start an effect.
/// </summary>
/// <param name="SagaId">The saga.</param>
/// <param name="Owner">The worker holding it (<see cref="SagaLogStore.WorkerId"/>).</param>
/// <param name="Epoch">The claim's epoch.</param>
public sealed record SagaLease(string SagaId, string Owner, long Epoch);
