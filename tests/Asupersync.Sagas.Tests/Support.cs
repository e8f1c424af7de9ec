using System.Globalization;

namespace Asupersync.Sagas.Tests;

/// <summary>Every test gets its own 2-worker runtime and a hang guard (not a timing assertion).</summary>
internal static class TestRuntime
{
    internal static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    internal static Task<T> RunAsync<T>(Func<Cx, Task<T>> body) => RunAsync(new RuntimeOptions { WorkerCount = 2 }, body);

    internal static async Task<T> RunAsync<T>(RuntimeOptions options, Func<Cx, Task<T>> body)
    {
        await using var rt = Runtime.Create(options);
        var o = await rt.RunAsync(body).WaitAsync(HangGuard);
        return o.GetValueOrThrow();
    }
}

/// <summary>
/// A fake downstream service that honours idempotency keys, as the services a saga calls must: a key already applied
/// is not applied again (counted in <see cref="Deduplicated"/>). Faults are injected per key. Callers say which
/// simulated process they are; <see cref="Kill"/> (or <see cref="Crash"/>, which kills the current default process and
/// moves to the next) makes that process's later calls fail, as a dead process makes none.
/// </summary>
/// <remarks>
/// What it checks about its callers (<see cref="Violations"/>): two invocations of one key in flight at once
/// (<see cref="Begin"/>/<see cref="End"/>), and — with a log attached — an action invoked although its completion was
/// already durable, or a compensation although it was already recorded compensated. Effects are also recorded by
/// (saga, step, action/compensation), so a saga that presented a different key on a retry would show two effects.
/// </remarks>
internal sealed class Ledger
{
    internal sealed record Effect(string Key, string SagaId, int Step, bool Compensation, int Process, long Order);

    private readonly Lock _gate = new();
    private readonly List<Effect> _applied = [];
    private readonly List<string> _calls = [];
    private readonly List<string> _violations = [];
    private readonly HashSet<string> _inFlight = [];
    private readonly Dictionary<string, int> _failuresLeft = [];
    private readonly HashSet<string> _failAlways = [];
    private readonly HashSet<int> _dead = [];
    private InMemorySagaLog? _log;
    private int _current;
    private long _order;
    private int _deduplicated;

    /// <summary>The default process (advanced by <see cref="Crash"/>).</summary>
    internal int Incarnation
    {
        get { lock (_gate) return _current; }
    }

    internal IReadOnlyList<Effect> Applied
    {
        get { lock (_gate) return _applied.ToArray(); }
    }

    internal IReadOnlyList<string> Calls
    {
        get { lock (_gate) return _calls.ToArray(); }
    }

    internal IReadOnlyList<string> Violations
    {
        get { lock (_gate) return _violations.ToArray(); }
    }

    internal int Deduplicated
    {
        get { lock (_gate) return _deduplicated; }
    }

    /// <summary>Checks every call against this log (see the remarks).</summary>
    internal void Watch(InMemorySagaLog log) => _log = log;

    internal void Crash()
    {
        lock (_gate) _dead.Add(_current++);
    }

    internal void Kill(int process)
    {
        lock (_gate) _dead.Add(process);
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

    private static string KeyOf(SagaStepContext s) => s.IsCompensation ? s.CompensationKey : s.IdempotencyKey;

    /// <summary>An invocation of a step's action or compensation begins (it may apply its effect before <see cref="End"/>).</summary>
    internal void Begin(SagaStepContext s)
    {
        var key = KeyOf(s);
        var done = _log?.RecordsOf(s.SagaId).Any(r => r.Step == s.StepIndex && r.Transition == (s.IsCompensation ? SagaTransition.StepCompensated : SagaTransition.StepCompleted));
        lock (_gate)
        {
            if (!_inFlight.Add(key)) _violations.Add($"two invocations of {key} at once");
            if (done == true) _violations.Add($"{key} invoked although the log already recorded it {(s.IsCompensation ? "compensated" : "completed")}");
        }
    }

    internal void End(SagaStepContext s)
    {
        lock (_gate) _inFlight.Remove(KeyOf(s));
    }

    /// <summary>Applies the effect of a step's action or compensation, called by simulated process <paramref name="process"/>.</summary>
    internal void Apply(SagaStepContext s, int process)
    {
        var key = KeyOf(s);
        lock (_gate)
        {
            _calls.Add(key);
            if (_dead.Contains(process)) throw new InvalidOperationException("the calling process crashed");
            if (_failAlways.Contains(key)) throw new TaskErrorException($"service refused {key}");
            if (_failuresLeft.TryGetValue(key, out int n) && n > 0)
            {
                _failuresLeft[key] = n - 1;
                throw new TaskErrorException($"service failed {key}");
            }
            if (_applied.Any(e => e.Key == key))
            {
                _deduplicated++;
                return;
            }
            _applied.Add(new Effect(key, s.SagaId, s.StepIndex, s.IsCompensation, process, ++_order));
        }
    }

    internal bool IsApplied(string key)
    {
        lock (_gate) return _applied.Any(e => e.Key == key);
    }

    internal int TimesApplied(string key)
    {
        lock (_gate) return _applied.Count(e => e.Key == key);
    }

    internal IReadOnlyList<int> CompensationOrder(string sagaId)
    {
        lock (_gate) return _applied.Where(e => e.SagaId == sagaId && e.Compensation).OrderBy(e => e.Order).Select(e => e.Step).ToArray();
    }
}

internal static class Sagas
{
    /// <summary>A saga of <paramref name="kinds"/>.Length steps, each applying its effect to the ledger after <paramref name="latency"/>.</summary>
    /// <param name="process">The simulated process the definition's code runs in (each restarted process builds its own).</param>
    /// <param name="after">A pause after the effect, before the action returns (a crash there leaves an applied effect unrecorded).</param>
    internal static Saga Build(string name, Ledger ledger, SagaOpKind[] kinds, TimeSpan latency, int process = 0, TimeSpan after = default, SagaRecoveryPolicy recovery = SagaRecoveryPolicy.ResumeForward)
    {
        var saga = new Saga(name) { Recovery = recovery };
        for (int i = 0; i < kinds.Length; i++)
        {
            async Task Effect(Cx cx, SagaStepContext s)
            {
                ledger.Begin(s);
                try
                {
                    if (latency > TimeSpan.Zero) await cx.SleepAsync(latency);
                    ledger.Apply(s, process);
                    if (after > TimeSpan.Zero) await cx.SleepAsync(after);
                }
                finally
                {
                    ledger.End(s);
                }
            }
            saga.Step($"s{i}", Effect, Effect, kinds[i]);
        }
        return saga;
    }

    internal static string Key(string sagaId, int step) => SagaKeys.Action(sagaId, step);

    internal static string Undo(string sagaId, int step) => SagaKeys.Compensation(sagaId, step);

    internal static string Str(int i) => i.ToString(CultureInfo.InvariantCulture);
}
