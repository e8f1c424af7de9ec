namespace Asupersync.Sagas;

/// <summary>Settings of one saga run (<see cref="SagaCx.SagaAsync"/>). Every property has a default.</summary>
public sealed record SagaOptions
{
    // Declared first: static initializers run in order, and Default needs it.
    internal static RetryPolicy DefaultCompensationRetry { get; } = new() { MaxAttempts = 5, InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromSeconds(2) };

    /// <summary>The default settings.</summary>
    public static SagaOptions Default { get; } = new();

    /// <summary>The durable log (default null: a private in-memory log, which does not survive the process).</summary>
    public SagaLogStore? Store { get; init; }

    /// <summary>The saga instance's id (default: 128 random bits from the runtime's entropy, as hex). Idempotency
    /// keys derive from it, so a natural id (an order number) makes the keys meaningful to the services called.</summary>
    public string? SagaId { get; init; }

    /// <summary>The saga's input, recorded in the log and given to every step (<see cref="SagaStepContext.Input"/>).</summary>
    public string? Input { get; init; }

    /// <summary>How steps are grouped into stages (default the CALM plan).</summary>
    public SagaPlanning Planning { get; init; } = SagaPlanning.Calm;

    /// <summary>
    /// How a failing compensation is retried: attempts and backoff (on the runtime clock; sleeps are masked like the
    /// rest of the compensation). Default: 5 attempts, 50 ms doubling up to 2 s.
    /// </summary>
    public RetryPolicy CompensationRetry { get; init; } = DefaultCompensationRetry;

    /// <summary>Told about every durable transition (for metrics, tests and tooling), or null.</summary>
    public ISagaObserver? Observer { get; init; }
}

/// <summary>Watches a saga's durable transitions.</summary>
public interface ISagaObserver
{
    /// <summary>
    /// Called once per record after it is durable, in the saga's sequence order, on the runtime task that wrote or
    /// applied it. Must be quick and must not throw (an exception is ignored).
    /// </summary>
    /// <param name="record">The durable record.</param>
    void OnDurable(SagaLogRecord record);
}
