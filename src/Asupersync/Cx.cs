using Asupersync.Kernel;

namespace Asupersync;

/// <summary>
/// The capability context a task body receives: the only door to runtime effects — spawning, regions, time,
/// randomness, I/O, cancellation state, budgets and obligations. Every task gets its own Cx.
/// </summary>
/// <remarks>
/// <para>Every method that waits is a <em>checkpoint</em>: if a cancel was requested it raises
/// <see cref="CancelledException"/> (once) before doing anything. Waits are cancel-safe: a cancel while
/// waiting leaves no effect behind.</para>
/// <para>A Cx can be narrowed (<see cref="Narrow"/>) but never widened. An effect used without its capability
/// throws <see cref="CapabilityException"/>.</para>
/// <para><b>A Cx belongs to its task.</b> Every effect — waits, spawns, regions, finalizers, clock, entropy,
/// masks, charges, obligations, the token bridge, and every library operation that takes a Cx — may be called
/// only from a step of this Cx's own task while that task lives; anything else throws
/// <see cref="InvalidOperationException"/> naming both sides. "Another task" includes code running outside any
/// task step: a continuation after <c>ConfigureAwait(false)</c>, <c>Task.Run</c>, a timer or socket callback.
/// Such code may run concurrently with the task's own steps, and the Lab could not order it, so it is refused
/// even while the task lives (as obligations always were). Narrowed Cx of the same task, a finalizer's own Cx,
/// region bodies and combinator branches each act for their own task and are unaffected. Identity and state
/// reads (<see cref="TaskId"/>, <see cref="TaskName"/>, <see cref="State"/>, <see cref="IsCancelRequested"/>,
/// <see cref="CancelReason"/>, <see cref="Budget"/>, <see cref="Capabilities"/>) are not effects and work from
/// anywhere. The check is a thread-static read and a field read per call (see docs/PERFORMANCE.md).</para>
/// <para>Do not use <c>ConfigureAwait(false)</c> inside a task body: it leaves the runtime's driver — the rest of
/// the body no longer runs as its task — and every Cx effect after it refuses.</para>
/// </remarks>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public sealed class Cx
{
    internal readonly TaskCore Task;

    internal Cx(TaskCore task, Capabilities capabilities, TaskAuthority? authority = null)
    {
        Task = task;
        Capabilities = capabilities;
        Authority = authority;
    }

    /// <summary>The token authority governing this Cx (null: capability bits only); children inherit it.</summary>
    internal readonly TaskAuthority? Authority;

    internal RegionCore Region => Task.Region;

    /// <summary>The capabilities this Cx grants.</summary>
    public Capabilities Capabilities { get; }

    /// <summary>The task's id (unique within the runtime).</summary>
    public long TaskId => Task.Id;

    /// <summary>The task's name.</summary>
    public string TaskName => Task.Name;

    /// <summary>The id of the region the task belongs to.</summary>
    public long RegionId => Region.Id;

    /// <summary>The name of the region the task belongs to.</summary>
    public string RegionName => Region.Name;

    /// <summary>The task's lifecycle state.</summary>
    public TaskState State => Task.State;

    /// <summary>True once a cancel was requested for this task (whether or not it was acknowledged yet).</summary>
    public bool IsCancelRequested => Task.IsCancelRequested;

    /// <summary>The current (strengthened) cancel reason, or null.</summary>
    public CancelReason? CancelReason => Task.Reason;

    /// <summary>The task's budget (deadline resolved against the runtime clock).</summary>
    public Budget Budget => Task.Budget;

    /// <summary>How many times the task has been resumed so far.</summary>
    public long Polls => Task.Polls;

    /// <summary>Runtime time: elapsed since the runtime started (virtual in the Lab). Needs <see cref="Capabilities.Time"/>.</summary>
    public TimeSpan Now
    {
        get
        {
            Require(Capabilities.Time);
            return Task.Runtime.Now;
        }
    }

    /// <summary>Wall-clock time as the runtime sees it (virtual in the Lab). Needs <see cref="Capabilities.Time"/>.</summary>
    public DateTimeOffset UtcNow
    {
        get
        {
            Require(Capabilities.Time);
            return Task.Runtime.Driver.UtcNow;
        }
    }

    /// <summary>
    /// A token that is cancelled when a cancel is requested for this task: the bridge to .NET APIs
    /// (HttpClient, database drivers, …). An <see cref="OperationCanceledException"/> it causes makes the task
    /// end Cancelled with the task's reason.
    /// </summary>
    public CancellationToken CancellationToken
    {
        get
        {
            Task.EnsureOwnStep();
            return Task.GetCancellationToken();
        }
    }

    /// <summary>
    /// An explicit checkpoint: raises <see cref="CancelledException"/> if a cancel was requested and not yet
    /// acknowledged (unless masked), or if the cleanup budget ran out while draining. Also enforces the deadline.
    /// </summary>
    public void Checkpoint()
    {
        Task.Checkpoint();
    }

    /// <summary>
    /// Acknowledges a pending cancel without an exception: the task moves to draining exactly as if a checkpoint
    /// had raised, so later awaits do not raise (until the cleanup budget runs out). For code that handles
    /// cancellation as a value — for example a connection that answers 503 and closes after its request region
    /// was cancelled.
    /// </summary>
    /// <returns>The cancel reason, or null when no cancel was requested (nothing changes then).</returns>
    /// <example>
    /// <code>
    /// if (cx.AcknowledgeCancel() is { } reason) { await WriteGoodbyeAsync(cx, reason); return; }
    /// </code>
    /// </example>
    public CancelReason? AcknowledgeCancel()
    {
        Task.EnsureOwnStep();
        return Task.AcknowledgeWithoutRaise();
    }

    /// <summary>
    /// Masks cancellation for a short critical section: checkpoints inside pass, and the cancel is raised at the
    /// first checkpoint after the mask ends. Bounded: at most 32 nested masks, and a mask never outlasts the
    /// cleanup budget of a pending cancel.
    /// </summary>
    /// <returns>A scope to dispose at the end of the section.</returns>
    /// <example><code>using (cx.Mask()) { await WriteHeaderAndBodyAsync(cx); }</code></example>
    public MaskScope Mask()
    {
        Task.EnsureOwnStep();
        Task.EnterMask();
        return new MaskScope(Task);
    }

    /// <summary>A narrowed Cx for the same task that grants only <paramref name="keep"/> ∩ <see cref="Capabilities"/>.</summary>
    /// <param name="keep">The capabilities to keep.</param>
    /// <returns>The narrowed context; tasks spawned from it inherit the narrowed set.</returns>
    public Cx Narrow(Capabilities keep) => new(Task, Capabilities & keep, Authority);

    /// <summary>The same task's Cx governed by <paramref name="authority"/> (the caller makes sure it only narrows).</summary>
    internal Cx WithAuthority(TaskAuthority? authority) => new(Task, Capabilities, authority);

    /// <summary>Checks an effect on a named resource against the Cx's token authority; throws its denial (reported to the observer).</summary>
    internal void DemandResource(string resource)
    {
        if (Authority is not null && AuthorizeResource(resource) is { } denial) throw denial;
    }

    /// <summary>Like <see cref="DemandResource"/> but returns the denial (already reported) instead of throwing it.</summary>
    internal Exception? AuthorizeResource(string resource)
    {
        if (Authority?.Check(this, resource) is not { } denial) return null;
        Task.Runtime.Observer?.OnAccess(0, "capability-violation:token:" + denial.Message);
        return denial;
    }

    // ---------------------------------------------------------------- structure

    /// <summary>Spawns a task in this task's region. The region owns it: dropping the handle never orphans it.</summary>
    /// <typeparam name="T">The task's result.</typeparam>
    /// <param name="name">A name for diagnostics and traces.</param>
    /// <param name="body">The task body; it receives its own Cx.</param>
    /// <param name="budget">The task's budget, met with the region's.</param>
    /// <returns>A handle to join or cancel the task.</returns>
    /// <exception cref="RegionClosedException">The region is cancelled or closed.</exception>
    public TaskHandle<T> Spawn<T>(string name, Func<Cx, Task<T>> body, Budget budget = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(body);
        Require(Capabilities.Spawn);
        return new TaskHandle<T>(Region.Spawn<T>(name, body, budget, Capabilities, authority: Authority));
    }

    /// <summary>Spawns a task without a result in this task's region.</summary>
    /// <param name="name">A name for diagnostics and traces.</param>
    /// <param name="body">The task body.</param>
    /// <param name="budget">The task's budget, met with the region's.</param>
    /// <returns>A handle to join or cancel the task.</returns>
    /// <exception cref="RegionClosedException">The region is cancelled or closed.</exception>
    public TaskHandle<Unit> Spawn(string name, Func<Cx, Task> body, Budget budget = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(body);
        Require(Capabilities.Spawn);
        return new TaskHandle<Unit>(Region.Spawn<Unit>(name, body, budget, Capabilities, authority: Authority));
    }

    /// <summary>
    /// Opens a child region, runs <paramref name="body"/> as its first task, and returns once the region is
    /// closed: every task in it completed, its finalizers ran and its ledger is empty. Never returns early — a
    /// cancel of this task propagates into the region (ParentCancelled) and the call returns after it drained.
    /// </summary>
    /// <typeparam name="T">The body's result.</typeparam>
    /// <param name="name">The region's name.</param>
    /// <param name="body">The region body; it runs as a task of the new region.</param>
    /// <param name="options">Policy, budget and limits (default fail-fast, unlimited).</param>
    /// <returns>The region's outcome: the body's value joined with every task's outcome.</returns>
    public async Task<Outcome<T>> RegionAsync<T>(string name, Func<Cx, Task<T>> body, RegionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(body);
        var (region, main) = OpenRegion<T>(name, body, options);
        await WaitClosedAsync(region);
        return region.OutcomeFor(main);
    }

    /// <summary>Like <see cref="RegionAsync{T}(string, Func{Cx, Task{T}}, RegionOptions?)"/> for a body without a result.</summary>
    /// <param name="name">The region's name.</param>
    /// <param name="body">The region body.</param>
    /// <param name="options">Policy, budget and limits.</param>
    /// <returns>The region's outcome.</returns>
    public Task<Outcome<Unit>> RegionAsync(string name, Func<Cx, Task> body, RegionOptions? options = null)
    {
        RegionCore region;
        TaskCore<Unit> main;
        try
        {
            ArgumentNullException.ThrowIfNull(name);
            ArgumentNullException.ThrowIfNull(body);
            (region, main) = OpenRegion<Unit>(name, body, options);
        }
        catch (Exception ex)
        {
            return Rethrow(ex); // as an async method would: in the returned task (Canceled for a cancel)
        }
        if (!region.IsClosed) return WaitAsync(this, region, main);
        // Closed already (the body completed synchronously, inline): no state machine, and an Ok is a shared task.
        var o = region.OutcomeFor(main);
        return o.IsOk ? s_okRegion : System.Threading.Tasks.Task.FromResult(o);

        static async Task<Outcome<Unit>> WaitAsync(Cx cx, RegionCore region, TaskCore<Unit> main)
        {
            await cx.WaitClosedAsync(region);
            return region.OutcomeFor(main);
        }
    }

    private static readonly Task<Outcome<Unit>> s_okRegion = System.Threading.Tasks.Task.FromResult(Outcome.Ok());

#pragma warning disable CS1998 // an async method without await: it rethrows into its task, as the async method it replaces did
    private static async Task<Outcome<Unit>> Rethrow(Exception ex)
    {
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex);
        return default;
    }
#pragma warning restore CS1998

    private (RegionCore, TaskCore<T>) OpenRegion<T>(string name, object body, RegionOptions? options)
    {
        Require(Capabilities.Spawn);
        Task.Checkpoint();
        var region = Region.OpenChild(name, Task, options ?? RegionOptions.Default);
        try
        {
            // The caller is about to wait for the region, so the body's first step runs inline where the driver
            // allows it (TaskCore.Start): a body that completes synchronously closes the region before this returns.
            var main = region.Spawn<T>(name, body, default, Capabilities, isMain: true, authority: Authority, inline: true);
            return (region, main);
        }
        catch
        {
            region.AbandonOpen(); // never leave a half-opened region owned by this task
            throw;
        }
    }

    private ValueTask<Unit> WaitClosedAsync(RegionCore region)
    {
        if (region.IsClosed) return default;
        var op = new RegionCloseOp(Task);
        Task.Runtime.Observer?.OnWait(Task, "region", region.Id);
        region.WhenClosed(op);
        return op.AsValueTask();
    }

    /// <summary>
    /// Registers a region finalizer: it runs once, after every task of this task's region completed (also on
    /// cancel and panic), in LIFO order with the other finalizers, masked.
    /// </summary>
    /// <remarks>
    /// <para>Finalizers are budgeted: they run under the cleanup budget of the cancel that reached the region (or,
    /// when the region was not cancelled, until its own deadline, which cancels it). When that budget runs out, a
    /// finalizer still running is cancelled at its next checkpoint (its waits raise
    /// <see cref="CancelledException"/>) and a <see cref="DiagnosticKind.BudgetOverrun"/> names it and its region;
    /// the finalizers after it still run, but cannot wait. The region closes once the last one returned.</para>
    /// <para>Each finalizer runs as its own internal task of the region, named <paramref name="name"/> (default
    /// <c>finalizer #k of region 'r'</c>, k its registration index), with this Cx's capabilities.</para>
    /// </remarks>
    /// <param name="finalizer">The cleanup.</param>
    /// <param name="name">A name for diagnostics and traces (default <c>finalizer #k of region 'r'</c>).</param>
    /// <exception cref="RegionClosedException">The region is already finalizing or closed.</exception>
    public void Defer(Action finalizer, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(finalizer);
        Task.EnsureOwnStep();
        Region.AddFinalizer(finalizer, Capabilities, Authority, name);
    }

    /// <summary>Registers an asynchronous region finalizer (see <see cref="Defer(Action, string?)"/>); it may await runtime operations, within the cleanup budget.</summary>
    /// <param name="finalizer">The cleanup; it receives the finalizer task's own Cx (with this Cx's capabilities).</param>
    /// <param name="name">A name for diagnostics and traces (default <c>finalizer #k of region 'r'</c>).</param>
    /// <exception cref="RegionClosedException">The region is already finalizing or closed.</exception>
    public void Defer(Func<Cx, Task> finalizer, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(finalizer);
        Task.EnsureOwnStep();
        Region.AddFinalizer(finalizer, Capabilities, Authority, name);
    }

    /// <summary>Cancels this task's whole region (every task in it, this one included).</summary>
    /// <param name="message">Why.</param>
    /// <param name="budget">Cleanup budget for the cancelled tasks.</param>
    public void CancelRegion(string? message = null, Budget budget = default)
    {
        Task.EnsureOwnStep();
        Region.RequestCancel(new CancelReason(CancelKind.User, message, Task.Runtime.Now, Region.Id, Task.Id), budget);
    }

    // ---------------------------------------------------------------- time

    /// <summary>Sleeps for <paramref name="duration"/> on the runtime clock. A checkpoint; cancel-safe.</summary>
    /// <param name="duration">How long; zero or negative returns at once (after the checkpoint).</param>
    /// <returns>A task completing after the duration.</returns>
    public ValueTask SleepAsync(TimeSpan duration)
    {
        Require(Capabilities.Time);
        if (duration <= TimeSpan.Zero)
        {
            Task.Checkpoint(); // nothing to wait for: no clock read
            return ValueTask.CompletedTask;
        }
        var now = Task.Runtime.Now;
        var due = duration >= TimeSpan.MaxValue - now ? TimeSpan.MaxValue : now + duration;
        return SleepOp.Start(Task, due);
    }

    /// <summary>Sleeps until runtime time <paramref name="deadline"/>. A checkpoint; cancel-safe.</summary>
    /// <param name="deadline">Runtime time to wake at.</param>
    /// <returns>A task completing at the deadline.</returns>
    public ValueTask SleepUntilAsync(TimeSpan deadline)
    {
        Require(Capabilities.Time);
        return SleepOp.Start(Task, deadline);
    }

    /// <summary>
    /// Yields: the task goes to the back of its lane. A checkpoint on entry <em>and</em> on resumption: a cancel
    /// requested while the task was yielded is raised when it runs again (unless masked), as after every other
    /// runtime await — a yield loop is never a place where a cancel waits unseen.
    /// </summary>
    /// <returns>A task completing when the task runs again.</returns>
    public ValueTask YieldAsync()
    {
        Task.Checkpoint();
        return new ValueTask(new YieldOp(Task), 0);
    }

    /// <summary>Completes when the process receives SIGINT or SIGTERM (or <see cref="Runtime.RequestShutdown"/>). A checkpoint; cancel-safe.</summary>
    /// <returns>A task completing on the first shutdown signal.</returns>
    public ValueTask ShutdownSignalAsync() => Task.Runtime.WaitShutdownAsync(Task);

    // ---------------------------------------------------------------- entropy

    /// <summary>A random 64-bit value from the runtime's entropy source (seeded in the Lab). Needs <see cref="Capabilities.Random"/>.</summary>
    /// <returns>The value.</returns>
    public ulong NextRandom()
    {
        Require(Capabilities.Random);
        Task.Runtime.Observer?.OnAccess(0, "entropy");
        return Task.Runtime.Driver.NextRandom();
    }

    /// <summary>A random integer in [0, <paramref name="maxExclusive"/>). Needs <see cref="Capabilities.Random"/>.</summary>
    /// <param name="maxExclusive">A positive bound.</param>
    /// <returns>The value.</returns>
    public int NextRandom(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)(NextRandom() % (ulong)maxExclusive);
    }

    /// <summary>A random double in [0, 1). Needs <see cref="Capabilities.Random"/>.</summary>
    /// <returns>The value.</returns>
    public double NextRandomDouble() => (NextRandom() >> 11) * (1.0 / (1UL << 53));

    // ---------------------------------------------------------------- budgets, obligations, bridges

    /// <summary>Charges <paramref name="cost"/> units against the task's cost quota; exceeding it requests a CostBudget cancel.</summary>
    /// <param name="cost">Non-negative units.</param>
    public void Charge(long cost)
    {
        Task.EnsureOwnStep();
        Task.Charge(cost);
    }

    /// <summary>Reserves a two-phase effect tracked in this region's ledger. Only this task may resolve it.</summary>
    /// <param name="kind">The kind of effect.</param>
    /// <param name="description">What it is, for diagnostics.</param>
    /// <returns>The obligation; commit or abort it, or dispose it to abort.</returns>
    public Obligation Reserve(ObligationKind kind, string description)
    {
        ArgumentNullException.ThrowIfNull(description);
        Task.EnsureOwnStep();
        return Region.Reserve(Task, kind, description, null);
    }

    /// <summary>Reserves an obligation with a hook that runs once when it is resolved (used by primitives to free a slot).</summary>
    internal Obligation Reserve(ObligationKind kind, string description, Action<Obligation, ObligationState>? onResolve)
    {
        Task.EnsureOwnStep();
        return Region.Reserve(Task, kind, description, onResolve);
    }

    /// <summary>Like the delegate form, with the primitive's own object as the hook (no delegate per reservation).</summary>
    internal Obligation Reserve(ObligationKind kind, string description, IObligationHook hook)
    {
        Task.EnsureOwnStep();
        return Region.Reserve(Task, kind, description, hook);
    }

    /// <summary>
    /// Awaits a plain .NET task with the cancel protocol applied: a checkpoint, and a cancel while waiting
    /// raises <see cref="CancelledException"/> at once (the plain task is abandoned; pass
    /// <see cref="CancellationToken"/> to it so that it stops too).
    /// </summary>
    /// <param name="task">The task to wait for.</param>
    /// <returns>A task completing with it.</returns>
    public ValueTask AwaitAsync(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return BridgeOp<Unit>.StartUntyped(Task, task);
    }

    /// <summary>Awaits a plain .NET task with the cancel protocol applied (see <see cref="AwaitAsync(System.Threading.Tasks.Task)"/>).</summary>
    /// <typeparam name="T">The result.</typeparam>
    /// <param name="task">The task to wait for.</param>
    /// <returns>Its result.</returns>
    public ValueTask<T> AwaitAsync<T>(Task<T> task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return BridgeOp<T>.Start(Task, task);
    }

    /// <summary>
    /// The gate of every effect: throws <see cref="InvalidOperationException"/> unless the caller runs as this Cx's
    /// own live task, and <see cref="CapabilityException"/> (recorded for the Lab's AmbientAuthority oracle) unless
    /// this Cx grants every capability in <paramref name="capability"/>. Library packages call it at their entry
    /// points before doing anything on the caller's behalf.
    /// </summary>
    internal void Require(Capabilities capability)
    {
        Task.EnsureOwnStep();
        var missing = capability & ~Capabilities;
        if (missing != Capabilities.None)
        {
            Task.Runtime.Observer?.OnAccess(0, "capability-violation:" + missing);
            throw new CapabilityException(missing, Task.Name);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"Cx(task {Task.Id} '{Task.Name}', region {Region.Id} '{Region.Name}', {Capabilities})";
}

/// <summary>A cancel mask; dispose it to end the masked section. Disposing twice is harmless.</summary>
public struct MaskScope : IDisposable
{
    private TaskCore? _task;

    internal MaskScope(TaskCore task) => _task = task;

    /// <summary>Ends the mask.</summary>
    public void Dispose()
    {
        var t = _task;
        _task = null;
        t?.ExitMask();
    }
}
