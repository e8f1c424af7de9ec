using System.Globalization;

namespace Asupersync.Sagas.Tests;

/// <summary>Every test gets its own 2-worker runtime and a hang guard (not a timing assertion).</summary>
internal static class TestRuntime
{
    internal static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    internal static async Task<T> RunAsync<T>(Func<Cx, Task<T>> body)
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        var o = await rt.RunAsync(body).WaitAsync(HangGuard);
        return o.GetValueOrThrow();
    }
}

/// <summary>
/// A fake downstream service: applies effects by idempotency key, in order, and remembers everything. Faults are
/// injected per key. A simulated crash (<see cref="Crash"/>) starts a new incarnation: calls from the old one fail,
/// and a key already applied by an earlier incarnation is deduplicated (the service's idempotency contract); a key
/// applied twice within one incarnation is applied twice — a saga bug the oracles report.
/// </summary>
internal sealed class Ledger
{
    internal sealed record Effect(string Key, string SagaId, int Step, bool Compensation, int Incarnation, long Order);

    private readonly Lock _gate = new();
    private readonly List<Effect> _applied = [];
    private readonly List<string> _calls = [];
    private readonly Dictionary<string, int> _failuresLeft = [];
    private readonly HashSet<string> _failAlways = [];
    private int _incarnation;
    private long _order;

    internal int Incarnation
    {
        get { lock (_gate) return _incarnation; }
    }

    internal IReadOnlyList<Effect> Applied
    {
        get { lock (_gate) return _applied.ToArray(); }
    }

    internal IReadOnlyList<string> Calls
    {
        get { lock (_gate) return _calls.ToArray(); }
    }

    internal int Deduplicated { get; private set; }

    internal void Crash()
    {
        lock (_gate) _incarnation++;
    }

    /// <summary>The next <paramref name="times"/> calls for <paramref name="key"/> fail (before applying anything).</summary>
    internal void FailNext(string key, int times = 1)
    {
        lock (_gate) _failuresLeft[key] = times;
    }

    internal void FailAlways(string key)
    {
        lock (_gate) _failAlways.Add(key);
    }

    /// <summary>Applies the effect of a step's action or compensation.</summary>
    internal void Apply(SagaStepContext s, int incarnation)
    {
        var key = s.IsCompensation ? s.CompensationKey : s.IdempotencyKey;
        lock (_gate)
        {
            _calls.Add(key);
            if (incarnation != _incarnation) throw new InvalidOperationException("the calling process crashed");
            if (_failAlways.Contains(key)) throw new TaskErrorException($"service refused {key}");
            if (_failuresLeft.TryGetValue(key, out int n) && n > 0)
            {
                _failuresLeft[key] = n - 1;
                throw new TaskErrorException($"service failed {key}");
            }
            if (_applied.Any(e => e.Key == key && e.Incarnation != incarnation))
            {
                Deduplicated++;
                return;
            }
            _applied.Add(new Effect(key, s.SagaId, s.StepIndex, s.IsCompensation, incarnation, ++_order));
        }
    }

    internal bool IsApplied(string key)
    {
        lock (_gate) return _applied.Any(e => e.Key == key);
    }

    internal IReadOnlyList<int> CompensationOrder(string sagaId)
    {
        lock (_gate) return _applied.Where(e => e.SagaId == sagaId && e.Compensation).OrderBy(e => e.Order).Select(e => e.Step).ToArray();
    }
}

internal static class Sagas
{
    /// <summary>A saga of <paramref name="kinds"/>.Length steps, each applying its effect to the ledger after <paramref name="latency"/>.</summary>
    internal static Saga Build(string name, Ledger ledger, SagaOpKind[] kinds, TimeSpan latency, Func<SagaStepContext, int>? incarnation = null)
    {
        var saga = new Saga(name);
        for (int i = 0; i < kinds.Length; i++)
        {
            saga.Step($"s{i}", async (cx, s) =>
            {
                if (latency > TimeSpan.Zero) await cx.SleepAsync(latency);
                ledger.Apply(s, incarnation?.Invoke(s) ?? ledger.Incarnation);
            }, async (cx, s) =>
            {
                if (latency > TimeSpan.Zero) await cx.SleepAsync(latency);
                ledger.Apply(s, incarnation?.Invoke(s) ?? ledger.Incarnation);
            }, kinds[i]);
        }
        return saga;
    }

    internal static string Key(string sagaId, int step) => SagaKeys.Action(sagaId, step);

    internal static string Undo(string sagaId, int step) => SagaKeys.Compensation(sagaId, step);

    internal static string Str(int i) => i.ToString(CultureInfo.InvariantCulture);
}
