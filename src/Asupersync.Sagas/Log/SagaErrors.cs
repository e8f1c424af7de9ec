namespace Asupersync.Sagas;

/// <summary>A saga log store failed: unreachable, wrong schema, corrupt data, or a lost lease.</summary>
public class SagaStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying failure, or null.</param>
    public SagaStoreException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>The store could not be reached or opened (a missing directory, a refused connection, a file held by another process).</summary>
public sealed class SagaStoreUnavailableException : SagaStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying failure, or null.</param>
    public SagaStoreUnavailableException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>The store's schema is not one this library can use (for example a log written by a newer version). Nothing was changed.</summary>
public sealed class SagaStoreSchemaException : SagaStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="found">The schema version found.</param>
    /// <param name="supported">The newest version this library supports.</param>
    public SagaStoreSchemaException(string message, int found, int supported) : base(message)
    {
        FoundVersion = found;
        SupportedVersion = supported;
    }

    /// <summary>The schema version found in the store.</summary>
    public int FoundVersion { get; }

    /// <summary>The newest schema version this library supports.</summary>
    public int SupportedVersion { get; }
}

/// <summary>A saga's log is damaged (a checksum mismatch, a truncated or missing record, an impossible transition): the
/// saga is not acted on.</summary>
public sealed class SagaLogCorruptException : SagaStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="sagaId">The saga whose log is damaged.</param>
    /// <param name="sequence">The first damaged record's sequence number, or 0 when not tied to one.</param>
    /// <param name="message">What is wrong.</param>
    public SagaLogCorruptException(string sagaId, long sequence, string message)
        : base($"saga log of '{sagaId}' is corrupt{(sequence > 0 ? $" at record {sequence}" : "")}: {message}")
    {
        SagaId = sagaId;
        Sequence = sequence;
    }

    /// <summary>The saga.</summary>
    public string SagaId { get; }

    /// <summary>The damaged record's sequence number (0: not tied to one).</summary>
    public long Sequence { get; }
}

/// <summary>The worker's lease on a saga was lost (it expired and another worker claimed the saga): this worker must stop.</summary>
public sealed class SagaLeaseLostException : SagaStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="lease">The lease that was lost.</param>
    public SagaLeaseLostException(SagaLease lease)
        : base($"lease on saga '{lease?.SagaId}' (owner '{lease?.Owner}', epoch {lease?.Epoch}) was lost: another worker took it over")
    {
        Lease = lease!;
    }

    /// <summary>The lost lease.</summary>
    public SagaLease Lease { get; }
}

/// <summary>A saga id that is already in the log was given to a new saga.</summary>
public sealed class SagaAlreadyExistsException : SagaStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="sagaId">The id.</param>
    public SagaAlreadyExistsException(string sagaId)
        : base($"saga '{sagaId}' already exists in the log; recover it (RecoverSagasAsync) instead of starting it again") => SagaId = sagaId;

    /// <summary>The id.</summary>
    public string SagaId { get; }
}

/// <summary>The definition registered for a saga in the log is missing, or does not match the steps the log recorded.</summary>
public sealed class SagaDefinitionMismatchException : SagaStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="sagaId">The saga.</param>
    /// <param name="message">What does not match.</param>
    public SagaDefinitionMismatchException(string sagaId, string message) : base($"saga '{sagaId}': {message}") => SagaId = sagaId;

    /// <summary>The saga.</summary>
    public string SagaId { get; }
}
