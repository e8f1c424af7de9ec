namespace Asupersync.Sagas;

/// <summary>
/// A saga definition: named steps, each an action and a compensation. Run one with
/// <see cref="SagaCx.SagaAsync"/>; if a step fails (Err or Panicked) or the saga is cancelled, the steps that
/// started are compensated in reverse (LIFO) order.
/// </summary>
/// <remarks>
/// <para>A definition is code; the durable log records which saga ran, with which input, and how far it got.
/// After a crash, recovery looks the definition up by <see cref="Name"/> in a <see cref="SagaRegistry"/> and
/// checks that its steps match the ones recorded.</para>
/// <para>Steps are added with <see cref="Step(string, Func{Cx, SagaStepContext, Task}, Func{Cx, SagaStepContext, Task}?, SagaOpKind)"/>
/// until the definition is first run or registered; after that it is frozen (a definition must not change under a
/// running saga).</para>
/// </remarks>
/// <example>
/// <code>
/// var order = new Saga("order")
///     .Step("reserve stock", (cx, s) =&gt; stock.ReserveAsync(cx, s.IdempotencyKey), (cx, s) =&gt; stock.ReleaseAsync(cx, s.IdempotencyKey), SagaOpKind.Reserve)
///     .Step("send email", (cx, s) =&gt; mail.SendAsync(cx, s.IdempotencyKey), null, SagaOpKind.Send)
///     .Step("charge card", (cx, s) =&gt; cards.ChargeAsync(cx, s.IdempotencyKey), (cx, s) =&gt; cards.RefundAsync(cx, s.IdempotencyKey), SagaOpKind.Commit);
/// Console.WriteLine(order.Explain());
/// var outcome = await cx.SagaAsync(order, new SagaOptions { Store = store, Input = orderJson });
/// </code>
/// </example>
public sealed class Saga
{
    private readonly List<SagaStep> _steps = [];
    private volatile bool _frozen;
    private SagaPlan? _calm;
    private SagaPlan? _sequential;

    /// <summary>Creates an empty saga definition.</summary>
    /// <param name="name">The name, unique within a <see cref="SagaRegistry"/>; recorded in the log.</param>
    /// <exception cref="ArgumentException">The name is empty.</exception>
    public Saga(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The saga's name.</summary>
    public string Name { get; }

    /// <summary>The steps, in declaration order.</summary>
    public IReadOnlyList<SagaStep> Steps => _steps;

    /// <summary>What recovery does with an unfinished saga of this definition after a crash (default <see cref="SagaRecoveryPolicy.ResumeForward"/>).</summary>
    public SagaRecoveryPolicy Recovery { get; init; } = SagaRecoveryPolicy.ResumeForward;

    /// <summary>Adds a step without a result.</summary>
    /// <param name="name">The step's name (unique within the saga).</param>
    /// <param name="action">The effect. It runs once its <see cref="SagaTransition.StepStarted"/> record is durable.</param>
    /// <param name="compensate">Undoes the effect, or null when there is nothing to undo. It must be idempotent and must
    /// tolerate an action that did not happen or only half happened (after a crash or a cancel the action's effect is
    /// uncertain; <see cref="SagaStepContext.ActionCompleted"/> says whether its completion was recorded).</param>
    /// <param name="kind">The operation kind; decides the step's coordination (default <see cref="SagaOpKind.Commit"/>, non-monotone).</param>
    /// <returns>This saga, for chaining.</returns>
    public Saga Step(string name, Func<Cx, SagaStepContext, Task> action, Func<Cx, SagaStepContext, Task>? compensate, SagaOpKind kind = SagaOpKind.Commit)
    {
        ArgumentNullException.ThrowIfNull(action);
        return Add(name, async (cx, s) =>
        {
            await action(cx, s);
            return null;
        }, compensate, kind);
    }

    /// <summary>Adds a step whose action returns an output that is recorded in the log and given to its compensation
    /// (<see cref="SagaStepContext.Output"/>) — for example the id of the charge to refund.</summary>
    /// <param name="name">The step's name (unique within the saga).</param>
    /// <param name="action">The effect; its result is recorded with the step's completion.</param>
    /// <param name="compensate">Undoes the effect, or null (see <see cref="Step(string, Func{Cx, SagaStepContext, Task}, Func{Cx, SagaStepContext, Task}?, SagaOpKind)"/>).</param>
    /// <param name="kind">The operation kind (default <see cref="SagaOpKind.Commit"/>).</param>
    /// <returns>This saga, for chaining.</returns>
    public Saga Step(string name, Func<Cx, SagaStepContext, Task<string?>> action, Func<Cx, SagaStepContext, Task>? compensate, SagaOpKind kind = SagaOpKind.Commit) =>
        Add(name, action ?? throw new ArgumentNullException(nameof(action)), compensate, kind);

    private Saga Add(string name, Func<Cx, SagaStepContext, Task<string?>> action, Func<Cx, SagaStepContext, Task>? compensate, SagaOpKind kind)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a saga operation kind.");
        lock (_steps)
        {
            if (_frozen) throw new InvalidOperationException($"Saga '{Name}' was already run or registered; its definition is frozen.");
            if (_steps.Any(s => s.Name == name)) throw new ArgumentException($"Saga '{Name}' already has a step named '{name}'.", nameof(name));
            _steps.Add(new SagaStep(_steps.Count, name, kind, action, compensate));
        }
        return this;
    }

    /// <summary>The execution plan for <paramref name="planning"/> (default the CALM plan).</summary>
    /// <param name="planning">How to group steps into stages.</param>
    /// <returns>The plan.</returns>
    public SagaPlan Plan(SagaPlanning planning = SagaPlanning.Calm)
    {
        Freeze();
        return planning switch
        {
            SagaPlanning.Calm => _calm ??= SagaPlan.Build(this, planning),
            SagaPlanning.Sequential => _sequential ??= SagaPlan.Build(this, planning),
            _ => throw new ArgumentOutOfRangeException(nameof(planning), planning, "Not a planning mode."),
        };
    }

    /// <summary>The plan, readable: stages, each step's kind and CALM classification, and the barriers (see <see cref="SagaPlan.Explain"/>).</summary>
    /// <param name="planning">How to group steps into stages (default CALM).</param>
    /// <returns>The text.</returns>
    public string Explain(SagaPlanning planning = SagaPlanning.Calm) => Plan(planning).Explain();

    internal void Freeze()
    {
        lock (_steps) _frozen = true;
    }

    /// <inheritdoc />
    public override string ToString() => $"Saga('{Name}', {_steps.Count} steps)";
}

/// <summary>What recovery does with an unfinished saga whose worker crashed in its forward phase.</summary>
public enum SagaRecoveryPolicy
{
    /// <summary>Resume forward: skip the steps whose completion is recorded, re-run a step that started but did not
    /// record its completion (with the same idempotency key), and go on. A saga that was already compensating, or
    /// whose step failed, is compensated.</summary>
    ResumeForward,

    /// <summary>Compensate every step that started, LIFO. (A saga that had not started any step yet still runs forward.)</summary>
    Compensate,
}
