namespace Asupersync.Sagas;

/// <summary>The saga definitions a worker can run, by name: recovery looks up the definition of each saga in the log here.</summary>
public sealed class SagaRegistry
{
    private readonly Dictionary<string, Saga> _sagas = [];

    /// <summary>Creates a registry with <paramref name="sagas"/>.</summary>
    /// <param name="sagas">Definitions (unique names).</param>
    public SagaRegistry(params Saga[] sagas)
    {
        ArgumentNullException.ThrowIfNull(sagas);
        foreach (var s in sagas) Add(s);
    }

    /// <summary>Registers a definition (and freezes it).</summary>
    /// <param name="saga">The definition.</param>
    /// <returns>This registry.</returns>
    /// <exception cref="ArgumentException">A definition with that name is already registered.</exception>
    public SagaRegistry Add(Saga saga)
    {
        ArgumentNullException.ThrowIfNull(saga);
        saga.Freeze();
        lock (_sagas)
        {
            if (!_sagas.TryAdd(saga.Name, saga)) throw new ArgumentException($"A saga named '{saga.Name}' is already registered.", nameof(saga));
        }
        return this;
    }

    /// <summary>Looks a definition up.</summary>
    /// <param name="name">The name.</param>
    /// <param name="saga">The definition.</param>
    /// <returns>True when found.</returns>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Saga? saga)
    {
        lock (_sagas) return _sagas.TryGetValue(name, out saga);
    }
}
