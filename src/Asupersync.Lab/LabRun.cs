using System.Runtime.InteropServices;
using System.Text;
using Asupersync.Kernel;
using Asupersync.Lab.Chaos;
using Asupersync.Time;

namespace Asupersync.Lab;

/// <summary>Picks the next step of a Lab run among the enabled processes.</summary>
internal interface ILabScheduler
{
    /// <summary>Returns an index into <paramref name="enabled"/>, or -1 to abandon the run (exploration prunes it).</summary>
    int Choose(LabRun run, ReadOnlySpan<long> enabled);
}

/// <summary>
/// One deterministic execution of a program: the Lab driver (single thread, virtual clock, seeded entropy), the
/// kernel observer that records the trace and the per-step access sets, and the run loop. The kernel it drives is
/// the production kernel: only <see cref="Driver"/> is different.
/// </summary>
/// <remarks>
/// <para>A <em>process</em> is what the scheduler chooses between: a ready task (its id) or the virtual clock
/// (<see cref="ClockProcess"/>), which is enabled when a timer is due. When nothing is enabled, virtual time
/// jumps to the next timer; when there is no timer either and the root has not closed, the run is deadlocked.</para>
/// <para>Every step records the runtime objects it touched (its own task, tasks it woke, spawned or cancelled,
/// regions, obligations, timers, entropy, user variables). Two steps of different processes that touch a
/// common object are <em>dependent</em>: exploration (DPOR, Foata fingerprints) is built on that relation.</para>
/// </remarks>
internal sealed class LabRun : IRuntimeObserver, IIoFaultSource
{
    internal const long ClockProcess = -1;

    // Object categories of access keys (top byte).
    private const int CatTask = 1, CatRegion = 2, CatObligation = 3, CatTimer = 4, CatEntropy = 5, CatIds = 6, CatUser = 7, CatOther = 8, CatClock = 9, CatJoin = 10, CatUserCode = 11;

    private readonly LabOptions _options;
    private readonly ILabScheduler _scheduler;
    private readonly int _labThread;
    private readonly bool _record;
    private readonly bool _undeclared;
    private SplitMix64 _entropy;
    private SplitMix64 _chaos;
    private SplitMix64 _chaosIo;
    private TimeSpan _now;

    private readonly List<TaskCore> _ready = new();
    private long[] _enabled = new long[8];

    private readonly List<LabEvent> _events;
    private readonly List<long> _decisions = new();
    private readonly List<long> _accessKeys = new();
    private readonly List<int> _accessStart = new();
    private bool _inStep;
    private TaskCore? _stepTask;

    // Keys touched since the last time jump, and whether the next clock step follows a jump (see RunStep).
    private readonly HashSet<long> _epochKeys = new();
    private bool _afterJump;

    private readonly Dictionary<long, LiveTask> _live = new();
    private readonly Dictionary<long, object> _objects = new();
    private readonly LabOracle[] _oracles;
    private readonly LabOracleContext _oracleContext;
    private readonly List<LabFailure> _failures = new();

    private readonly object _foreignGate = new();
    private List<string>? _foreign;
    private volatile bool _foreignFlag;

    private bool _rootClosed;
    private Outcome<Unit>? _outcome;
    private long _rootTaskId;

    internal LabRun(ulong seed, LabOptions options, ILabScheduler scheduler)
    {
        Seed = seed;
        _options = options;
        _scheduler = scheduler;
        _labThread = Environment.CurrentManagedThreadId;
        _record = options.RecordEvents;
        _undeclared = options.SharedState == SharedState.Undeclared;
        _events = new List<LabEvent>(_record ? 256 : 0);
        _entropy = SplitMix64.ForStream(seed, 0x656E74726F7079UL);
        _chaos = SplitMix64.ForStream(seed, 0x6368616F73UL);
        _chaosIo = SplitMix64.ForStream(seed, 0x63686F73696FUL);
        _oracleContext = new LabOracleContext(seed, () => CurrentStep, Describe, (o, m, objs) => Fail(o, m, objs));
        var builtIn = LabOracles.CreateBuiltIn();
        _oracles = new LabOracle[builtIn.Length + options.Oracles.Count];
        builtIn.CopyTo(_oracles, 0);
        for (int i = 0; i < options.Oracles.Count; i++) _oracles[builtIn.Length + i] = options.Oracles[i]();
        if (options.CheckRefinement)
        {
            Array.Resize(ref _oracles, _oracles.Length + 1);
            _oracles[^1] = new RefinementOracle(new Asupersync.Model.ModelOptions { LeakFails = options.Runtime.LeakResponse == LeakResponse.Fail });
        }
        Core = new RuntimeCore(new LabDriver(this), options.Runtime);
        Core.Observer = this;
        Core.ChoicePoints = options.ChoicePoints;
    }

    internal ulong Seed { get; }

    internal RuntimeCore Core { get; }

    internal LabOptions Options => _options;

    internal TimeSpan Now => _now;

    internal int StepCount => _decisions.Count;

    internal int CurrentStep => _inStep ? _decisions.Count - 1 : _decisions.Count;

    internal List<long> Decisions => _decisions;

    internal List<LabEvent> Events => _events;

    internal List<LabFailure> Failures => _failures;

    internal bool RootClosed => _rootClosed;

    internal Outcome<Unit>? Outcome => _outcome;

    /// <summary>True when the scheduler abandoned the run (a pruned exploration branch).</summary>
    internal bool Abandoned { get; private set; }

    /// <summary>True when the run hit <see cref="LabOptions.MaxSteps"/>.</summary>
    internal bool HitStepLimit { get; private set; }

    /// <summary>Steps that disabled the clock (cancelled the only due timer); see <see cref="RunStep"/>.</summary>
    internal List<int> ClockDisablingSteps { get; } = new();

    /// <summary>The process of step <paramref name="i"/>.</summary>
    internal long StepProcess(int i) => _decisions[i];

    /// <summary>The access keys of step <paramref name="i"/> (deduplicated).</summary>
    internal ReadOnlySpan<long> StepAccesses(int i)
    {
        int start = _accessStart[i];
        int end = i + 1 < _accessStart.Count ? _accessStart[i + 1] : _accessKeys.Count;
        return CollectionsMarshal.AsSpan(_accessKeys).Slice(start, end - start);
    }

    // ------------------------------------------------------------------ the run loop

    internal void Execute(Func<Cx, Task> body)
    {
        // I/O chaos reaches the virtual network as a runtime service (installed before the program's network is).
        if (_options.Chaos.HasIoFaults) Core.SetService<IIoFaultSource>(this);
        _options.ConfigureRuntime?.Invoke(new Runtime(Core));
        Core.StartRoot<Unit>(_options.ProgramName ?? "root", body, RegionOptions.Default, (region, main) =>
        {
            _rootClosed = true;
            _outcome = region.OutcomeFor(main);
        });
        var chaos = _options.Chaos;
        bool stopped = false;
        while (!_rootClosed)
        {
            if (_foreignFlag)
            {
                ReportForeign();
                stopped = true;
                break;
            }
            if (chaos.IsEnabled) ApplyChaos(chaos);
            int n = BuildEnabled();
            if (n == 0)
            {
                var next = Core.Timers.PeekLive();
                if (next is not null)
                {
                    // Nothing can run before the next timer: jump there. The clock then becomes enabled.
                    if (next.Due > _now)
                    {
                        _now = next.Due;
                        _afterJump = true;
                    }
                    Emit(new LabEvent(CurrentStep, LabEventKind.TimeAdvanced, 0, 0, _now.Ticks, -1, 0, _now, null));
                    continue;
                }
                ReportStuck();
                stopped = true;
                break;
            }
            if (_decisions.Count >= _options.MaxSteps)
            {
                HitStepLimit = true;
                Fail("StepLimit", $"the run did not finish within {_options.MaxSteps} steps (livelock, or raise LabOptions.MaxSteps); live tasks: {DescribeLive()}", []);
                stopped = true;
                break;
            }
            int idx = _scheduler.Choose(this, new ReadOnlySpan<long>(_enabled, 0, n));
            if (idx < 0)
            {
                Abandoned = true;
                stopped = true;
                break;
            }
            RunStep(idx, n);
        }
        if (_outcome is { IsPanicked: true } panicked)
        {
            // An exception escaping the program (typically a failed check inside it) fails the run like an oracle.
            Fail(LabOracles.Panicked, $"the root ended Panicked: {panicked.Exception!.GetType().Name}: {panicked.Exception.Message}", [_rootTaskId]);
        }
        else if (_outcome is { IsErr: true } err && !_options.AcceptErr)
        {
            Fail(LabOracles.Err, $"the root ended Err: {err} (set LabOptions.AcceptErr if an error outcome is the expected result)", [_rootTaskId]);
        }
        _oracleContext.RootClosed = _rootClosed;
        _oracleContext.Stopped = stopped;
        if (!Abandoned)
        {
            foreach (var o in _oracles) o.OnRunEnd(_oracleContext);
        }
    }

    private int BuildEnabled()
    {
        int n = _ready.Count;
        if (_enabled.Length < n + 1) Array.Resize(ref _enabled, Math.Max(n + 1, _enabled.Length * 2));
        for (int i = 0; i < n; i++) _enabled[i] = _ready[i].Id;
        var next = Core.Timers.PeekLive();
        if (next is not null && next.Due <= _now) _enabled[n++] = ClockProcess;
        return n;
    }

    private void RunStep(int idx, int n)
    {
        long process = _enabled[idx];
        _decisions.Add(process);
        _accessStart.Add(_accessKeys.Count);
        _inStep = true;
        int step = _decisions.Count - 1;
        var clockBefore = Core.Timers.PeekLive();
        if (process == ClockProcess)
        {
            _stepTask = null;
            Touch(Key(CatClock, 0));
            if (clockBefore is not null) Touch(Key(CatTimer, clockBefore.Due.Ticks));
            if (_afterJump)
            {
                // Time jumped because every task was blocked: this clock step could only happen after every step
                // since the previous jump. Enabling by "nothing else can run" is not an object access, so make it
                // one: the step depends on every object touched in that epoch.
                _afterJump = false;
                foreach (var k in _epochKeys) Touch(k);
                _epochKeys.Clear();
            }
            Emit(new LabEvent(step, LabEventKind.TimerFired, 0, 0, clockBefore?.Due.Ticks ?? 0, -1, 0, _now, null));
            Core.Timers.FireOne(_now);
        }
        else
        {
            var task = _ready[idx];
            _ready.RemoveAt(idx);
            _stepTask = task;
            Touch(Key(CatTask, task.Id));
            // A user task's step runs user code, which may touch any field; unless the program declares its shared
            // state, that makes it dependent with every other such step (see SharedState). A region's finalizer
            // task (internal) runs user code too: the Defer bodies.
            // The step after a task's completion choice point runs only the kernel's completion (no user code).
            if (_undeclared && !task.NextStepOnlyCompletes) Touch(Key(CatUserCode, 0));
            if (_live.TryGetValue(task.Id, out var lt)) lt.Waiting = false;
            Emit(new LabEvent(step, LabEventKind.Step, task.Id, 0, 0, -1, 0, _now, task.Name));
            task.RunStep();
            // A step that enables or disables the clock, or changes which due timer it fires next (adds one due
            // now, cancels the due one), is dependent with the clock's steps even if it touched no object the
            // timer's callback touches. Timers not yet due do not count: the clock cannot fire them before a time
            // jump, and the step after a jump depends on the whole epoch anyway. (Counting them would make the
            // relation depend on the order of two steps that add or cancel far-away timers.)
            var clockAfter = Core.Timers.PeekLive();
            if (!ReferenceEquals(clockBefore, clockAfter) && (IsDue(clockBefore) || IsDue(clockAfter))) Touch(Key(CatClock, 0));
            // Disabling: the clock was enabled and this step took that away (cancelled the due timer). The clock
            // then never runs, so no race shows it; exploration must try the clock before this step explicitly.
            if (IsDue(clockBefore) && !IsDue(clockAfter)) ClockDisablingSteps.Add(step);
        }
        _stepTask = null;
        _inStep = false;
    }

    private bool IsDue(TimerEntry? timer) => timer is not null && timer.Due <= _now;

    private void ApplyChaos(ChaosOptions chaos)
    {
        // Always draw the same number of values per step so that the stream stays aligned across replays.
        double pc = _chaos.NextDouble(), pd = _chaos.NextDouble();
        ulong pick = _chaos.Next(), amount = _chaos.Next();
        if (pd < chaos.DelayProbability && chaos.MaxDelay > TimeSpan.Zero)
        {
            long ticks = 1 + (long)(amount % (ulong)chaos.MaxDelay.Ticks);
            _now += TimeSpan.FromTicks(ticks);
            Emit(new LabEvent(CurrentStep, LabEventKind.ChaosDelay, 0, 0, ticks, -1, 0, _now, null));
        }
        if (pc < chaos.CancelProbability && _live.Count > 0)
        {
            var candidates = new List<TaskCore>();
            foreach (var lt in _live.Values)
            {
                if (lt.Task.IsInternal) continue;
                if (!chaos.CancelRootTask && lt.Task.Id == _rootTaskId) continue;
                candidates.Add(lt.Task);
            }
            if (candidates.Count > 0)
            {
                candidates.Sort((a, b) => a.Id.CompareTo(b.Id));
                var victim = candidates[(int)(pick % (ulong)candidates.Count)];
                Emit(new LabEvent(CurrentStep, LabEventKind.ChaosCancel, victim.Id, 0, 0, -1, 0, _now, victim.Name));
                victim.RequestCancel(new CancelReason(CancelKind.User, "chaos: spurious cancel", _now), Budget.Unlimited);
            }
        }
    }

    bool IIoFaultSource.Inject(IoFault fault, TaskCore? task, string site)
    {
        var c = _options.Chaos;
        double p = fault switch
        {
            IoFault.ConnectionReset => c.ResetProbability,
            IoFault.ShortRead => c.ShortReadProbability,
            IoFault.ShortWrite => c.ShortWriteProbability,
            IoFault.AcceptFailure => c.AcceptFailureProbability,
            IoFault.ConnectRefused => c.RefuseProbability,
            IoFault.ConnectTimeout => c.ConnectTimeoutProbability,
            IoFault.IoOpFailure => c.IoOpFailureProbability,
            _ => 0,
        };
        if (p <= 0 || _chaosIo.NextDouble() >= p) return false;
        Emit(new LabEvent(CurrentStep, LabEventKind.ChaosIoFault, task?.Id ?? 0, 0, 0, -1, (int)fault, _now, site));
        return true;
    }

    int IIoFaultSource.Draw(int maxExclusive) => maxExclusive <= 1 ? 0 : _chaosIo.NextInt(maxExclusive);

    // ------------------------------------------------------------------ driver callbacks

    internal void OnSchedule(TaskCore task)
    {
        if (Environment.CurrentManagedThreadId != _labThread)
        {
            RecordForeign($"task '{task.Name}' (id {task.Id}) was resumed from thread {Environment.CurrentManagedThreadId}, not the Lab thread: " +
                          "its body awaited something the Lab does not own (Task.Delay, Task.Run, real I/O, or an await with ConfigureAwait(false))");
            return;
        }
        _ready.Add(task);
        if (_inStep) Touch(Key(CatTask, task.Id));
    }

    internal ulong NextEntropy()
    {
        // Every draw is an access to the one entropy stream, whoever draws (Cx.NextRandom, the virtual network…).
        if (Foreign("a draw from the entropy stream")) return 0;
        Touch(Key(CatEntropy, 0));
        return _entropy.Next();
    }

    // ------------------------------------------------------------------ observer

    private bool Foreign(string what)
    {
        if (Environment.CurrentManagedThreadId == _labThread) return false;
        RecordForeign($"{what} happened on thread {Environment.CurrentManagedThreadId}, not the Lab thread (a task body left the Lab: Task.Run, ConfigureAwait(false), a real timer or socket callback)");
        return true;
    }

    public void OnTaskSpawned(TaskCore task)
    {
        if (Foreign($"spawning task '{task.Name}'")) return;
        _live[task.Id] = new LiveTask(task);
        _objects[task.Id] = task;
        if (_rootTaskId == 0) _rootTaskId = task.Id;
        Touch(Key(CatTask, task.Id));
        Touch(Key(CatRegion, task.Region.Id));
        Touch(Key(CatIds, 0));
        Emit(new LabEvent(CurrentStep, LabEventKind.Spawned, task.Id, task.Region.Id, task.IsInternal ? 1 : 0, task.Budget.Deadline?.Ticks ?? -1, 0, _now, task.Name));
    }

    public void OnStep(TaskCore task, bool begin)
    {
        LabProbes.Step?.Invoke(task, begin);
    }

    public void OnCancelRequested(TaskCore task, CancelReason reason)
    {
        if (Foreign($"a cancel of task '{task.Name}'")) return;
        Touch(Key(CatTask, task.Id));
        // The cleanup budget after tightening travels with the event: the refinement oracle checks raises and overruns against it.
        long cleanup = task.CleanupDeadlineIfCancelled is { } cd && cd != TimeSpan.MaxValue ? cd.Ticks : -1;
        Emit(new LabEvent(CurrentStep, LabEventKind.CancelRequested, task.Id, task.HasCleanupPollLimit ? 1 : 0, reason.Tier, cleanup, (int)reason.Kind, _now, reason.Message));
    }

    public void OnCleanupBudget(TaskCore task, TimeSpan deadline, long? pollLimit)
    {
        if (Foreign($"a cleanup budget of task '{task.Name}'")) return;
        Emit(new LabEvent(CurrentStep, LabEventKind.CleanupBudget, task.Id, 0, deadline == TimeSpan.MaxValue ? -1 : deadline.Ticks, pollLimit ?? -1, 0, _now, null));
    }

    public void OnCancelAcknowledged(TaskCore task, CancelReason reason)
    {
        if (Foreign($"task '{task.Name}' acknowledging a cancel")) return;
        Touch(Key(CatTask, task.Id));
        Emit(new LabEvent(CurrentStep, LabEventKind.CancelAcknowledged, task.Id, 0, reason.Tier, -1, (int)reason.Kind, _now, null));
    }

    public void OnBudgetOverrun(TaskCore task)
    {
        if (Foreign($"a budget overrun of task '{task.Name}'")) return;
        Touch(Key(CatTask, task.Id));
        Emit(new LabEvent(CurrentStep, LabEventKind.BudgetOverrun, task.Id, task.Region.Id, 0, -1, 0, _now, task.Name));
    }

    public void OnTaskCompleted(TaskCore task, Outcome<Unit> outcome)
    {
        if (Foreign($"completion of task '{task.Name}'")) return;
        _live.Remove(task.Id);
        Touch(Key(CatTask, task.Id));
        Touch(Key(CatJoin, task.Id));
        Touch(Key(CatRegion, task.Region.Id));
        Emit(new LabEvent(CurrentStep, LabEventKind.Completed, task.Id, task.Region.Id, 0, -1, (int)outcome.Kind, _now, null));
    }

    public void OnWait(TaskCore task, string what, long objectId)
    {
        if (Foreign($"task '{task.Name}' starting a '{what}' wait")) return;
        if (!ReferenceEquals(task, _stepTask))
        {
            Fail("Determinism",
                $"task '{task.Name}' (id {task.Id}) started a '{what}' wait while {(_stepTask is null ? "no task" : $"task '{_stepTask.Name}'")} was running: " +
                "its code ran outside its own steps (a continuation with ConfigureAwait(false), or one run inline by a plain Task)", [task.Id]);
        }
        if (_live.TryGetValue(task.Id, out var lt))
        {
            lt.Waiting = true;
            lt.WaitWhat = what;
            lt.WaitObject = objectId;
        }
        if (objectId != 0)
        {
            Touch(what switch
            {
                "join" => Key(CatJoin, objectId),
                "region" => Key(CatRegion, objectId),
                _ => Key(CatOther, Fnv(what) ^ objectId),
            });
            if (what is not ("join" or "region") && _seenPrimitives.Add(objectId)) Touch(Key(CatIds, 0));
        }
        Emit(new LabEvent(CurrentStep, LabEventKind.Wait, task.Id, objectId, 0, -1, 0, _now, what));
    }

    public void OnWaitInterrupted(TaskCore task)
    {
        if (Foreign($"an interrupt of task '{task.Name}'")) return;
        Touch(Key(CatTask, task.Id));
        Emit(new LabEvent(CurrentStep, LabEventKind.WaitInterrupted, task.Id, 0, 0, -1, 0, _now, null));
    }

    public void OnRegionOpened(RegionCore region)
    {
        if (Foreign($"opening region '{region.Name}'")) return;
        _objects[region.Id] = region;
        Touch(Key(CatRegion, region.Id));
        if (region.Parent is not null) Touch(Key(CatRegion, region.Parent.Id));
        Touch(Key(CatIds, 0));
        Emit(new LabEvent(CurrentStep, LabEventKind.RegionOpened, region.Owner?.Id ?? 0, region.Id, region.Parent?.Id ?? 0, region.Budget.Deadline?.Ticks ?? -1, 0, _now, region.Name));
    }

    public void OnRegionState(RegionCore region, RegionState state)
    {
        if (Foreign($"region '{region.Name}' becoming {state}")) return;
        Touch(Key(CatRegion, region.Id));
        if (state == RegionState.Closed && region.Parent is not null) Touch(Key(CatRegion, region.Parent.Id));
        long outcome = state == RegionState.Closed ? (long)region.FinalOutcome.Kind : -1;
        Emit(new LabEvent(CurrentStep, LabEventKind.RegionState, 0, region.Id, region.Parent?.Id ?? 0, outcome, (int)state, _now, null));
    }

    public void OnFinalizer(RegionCore region, int index)
    {
        if (Foreign($"a finalizer of region '{region.Name}'")) return;
        Touch(Key(CatRegion, region.Id));
        Emit(new LabEvent(CurrentStep, LabEventKind.FinalizerRun, 0, region.Id, 0, -1, index, _now, null));
    }

    public void OnObligation(Obligation obligation, ObligationState state)
    {
        if (Foreign($"obligation {obligation.Id} becoming {state}")) return;
        Touch(Key(CatObligation, obligation.Id));
        Touch(Key(CatRegion, obligation.RegionId));
        if (state == ObligationState.Reserved) Touch(Key(CatIds, 0));
        if (_live.TryGetValue(obligation.HolderTaskId, out var lt)) lt.Held += state == ObligationState.Reserved ? 1 : -1;
        Emit(new LabEvent(CurrentStep, LabEventKind.Obligation, obligation.HolderTaskId, obligation.Id, obligation.RegionId, -1, (int)state, _now, obligation.Description));
    }

    public void OnAccess(long objectId, string kind)
    {
        if (Foreign($"an access to '{kind}'")) return;
        switch (kind)
        {
            case "entropy":
                Touch(Key(CatEntropy, 0));
                return;
            case "timer":
                Touch(Key(CatTimer, objectId));
                return;
            case "task":
                Touch(Key(CatTask, objectId));
                return;
            case "task.join":
                Touch(Key(CatJoin, objectId));
                return;
            case "region":
                Touch(Key(CatRegion, objectId));
                return;
            case "mask.enter":
            case "mask.exit":
                // A task's own state, changed in its own step (which already touched the task): no new access.
                Emit(new LabEvent(CurrentStep, kind == "mask.enter" ? LabEventKind.MaskEntered : LabEventKind.MaskExited, objectId, 0, 0, -1, 0, _now, null));
                return;
            case "region.finalizer":
                Touch(Key(CatRegion, objectId));
                Emit(new LabEvent(CurrentStep, LabEventKind.FinalizerRegistered, _stepTask?.Id ?? 0, objectId, 0, -1, 0, _now, null));
                return;
        }
        if (kind.StartsWith("capability-violation:", StringComparison.Ordinal))
        {
            var task = TaskCore.Current;
            Emit(new LabEvent(CurrentStep, LabEventKind.CapabilityViolation, task?.Id ?? 0, 0, 0, -1, 0, _now, kind["capability-violation:".Length..]));
            return;
        }
        if (kind.StartsWith("oracle:", StringComparison.Ordinal))
        {
            // Convention for primitives (which cannot reference the Lab): "oracle:<Name>:<message>".
            Emit(new LabEvent(CurrentStep, LabEventKind.PrimitiveViolation, TaskCore.Current?.Id ?? 0, objectId, 0, -1, 0, _now, kind["oracle:".Length..]));
            return;
        }
        // Primitives take their object id lazily from the runtime's id sequence on first use: a first sighting
        // means this step allocated an id, which orders it with every other allocation (ids must not differ
        // between equivalent runs).
        if (objectId != 0 && _seenPrimitives.Add(objectId)) Touch(Key(CatIds, 0));
        Touch(Key(CatOther, Fnv(kind) ^ objectId));
    }

    private readonly HashSet<long> _seenPrimitives = new();

    /// <summary>A user-marked access to a named shared variable (see <see cref="LabAccess"/>).</summary>
    internal void OnUserAccess(string name)
    {
        if (Foreign($"an access to shared variable '{name}'")) return;
        Touch(Key(CatUser, Fnv(name)));
        if (_record) Emit(new LabEvent(CurrentStep, LabEventKind.UserAccess, _stepTask?.Id ?? 0, 0, 0, -1, 0, _now, name));
    }

    // ------------------------------------------------------------------ recording

    private static long Key(int category, long id) => ((long)category << 56) ^ (id & 0x00FF_FFFF_FFFF_FFFFL);

    internal static long Fnv(string s)
    {
        ulong h = 0xcbf29ce484222325UL;
        foreach (char c in s)
        {
            h ^= c;
            h *= 0x100000001b3UL;
        }
        return (long)(h & 0x00FF_FFFF_FFFF_FFFFUL);
    }

    private void Touch(long key)
    {
        if (!_inStep) return;
        int start = _accessStart[^1];
        var keys = _accessKeys;
        for (int i = start; i < keys.Count; i++)
        {
            if (keys[i] == key) return;
        }
        keys.Add(key);
        _epochKeys.Add(key);
    }

    private void Emit(in LabEvent e)
    {
        if (_record) _events.Add(e);
        var oracles = _oracles;
        for (int i = 0; i < oracles.Length; i++) oracles[i].OnEvent(e, _oracleContext);
    }

    internal void Fail(string oracle, string message, long[] objects)
    {
        // Each oracle reports each distinct finding once per run.
        foreach (var f in _failures)
        {
            if (f.Oracle == oracle && f.Message == message) return;
        }
        var failure = new LabFailure(oracle, message, CurrentStep, objects);
        _failures.Add(failure);
        if (_record) _events.Add(new LabEvent(CurrentStep, LabEventKind.Failure, objects.Length > 0 ? objects[0] : 0, 0, 0, -1, 0, _now, oracle));
    }

    // ------------------------------------------------------------------ determinism guard and deadlock

    private void RecordForeign(string message)
    {
        lock (_foreignGate)
        {
            (_foreign ??= new List<string>()).Add(message);
            _foreignFlag = true;
            Monitor.PulseAll(_foreignGate);
        }
    }

    private void ReportForeign()
    {
        string[] msgs;
        lock (_foreignGate) msgs = _foreign!.ToArray();
        foreach (var m in msgs) Fail("Determinism", m, []);
    }

    private void ReportStuck()
    {
        // Tasks neither ready nor in a runtime wait are suspended on something the Lab does not own. Their
        // continuation may still arrive from a foreign thread: give it a moment so that the report can name it.
        var suspendedOutside = _live.Values.Where(t => !t.Waiting && !_ready.Contains(t.Task) && !t.Task.IsInternal).ToList();
        if (suspendedOutside.Count > 0)
        {
            lock (_foreignGate)
            {
                if (!_foreignFlag) Monitor.Wait(_foreignGate, _options.ForeignContinuationGrace);
            }
            if (_foreignFlag)
            {
                ReportForeign();
                return;
            }
            foreach (var t in suspendedOutside)
            {
                Fail("Determinism",
                    $"task '{t.Task.Name}' (id {t.Task.Id}) is suspended on an await the Lab does not own (a plain Task such as Task.Delay or Task.Run, or a primitive that does not report its waits); the Lab cannot make progress",
                    [t.Task.Id]);
            }
        }

        var sb = new StringBuilder("no task can run, no timer is pending and the root region has not closed. Waiting: ");
        var ids = new List<long>();
        bool first = true;
        foreach (var t in _live.Values.OrderBy(t => t.Task.Id))
        {
            if (!first) sb.Append("; ");
            first = false;
            sb.Append(Describe(t.Task.Id)).Append(" in ").Append(t.Waiting ? $"'{t.WaitWhat}'" : "an unknown wait");
            if (t.Waiting && t.WaitWhat == "join") sb.Append(" on ").Append(Describe(t.WaitObject));
            if (t.Waiting && t.WaitWhat == "region") sb.Append(" for ").Append(Describe(t.WaitObject));
            ids.Add(t.Task.Id);
        }
        var cycle = FindJoinCycle();
        if (cycle is not null) sb.Append(". Wait cycle: ").Append(string.Join(" -> ", cycle.Select(Describe)));
        // The production wait-for graph names the resources and their holders (mutexes, RwLocks, semaphores, joins; channels and barriers here).
        // The run is stuck, so the world is closed: a channel's or barrier's anonymous other side is every other task.
        var world = _live.Values.Select(t => t.Task).ToList();
        var trapped = _live.Values.OrderBy(t => t.Task.Id).Where(t => t.Waiting).Select(t => WaitForGraph.DescribeTrapped(t.Task, world)).FirstOrDefault(d => d is not null);
        if (trapped is not null) sb.Append(". Wait-for graph: ").Append(trapped);
        Fail("Deadlock", sb.ToString(), ids.ToArray());

        foreach (var t in _live.Values.OrderBy(t => t.Task.Id))
        {
            if (t.Held > 0)
            {
                Fail("Futurelock", $"{Describe(t.Task.Id)} holds {t.Held} reserved obligation(s) and will never be resumed", [t.Task.Id]);
            }
        }
    }

    private List<long>? FindJoinCycle()
    {
        foreach (var start in _live.Values.OrderBy(t => t.Task.Id))
        {
            var path = new List<long>();
            var cur = start;
            while (cur is not null && cur.Waiting && cur.WaitWhat == "join")
            {
                int at = path.IndexOf(cur.Task.Id);
                if (at >= 0)
                {
                    var cycle = path.GetRange(at, path.Count - at);
                    cycle.Add(cur.Task.Id);
                    return cycle;
                }
                path.Add(cur.Task.Id);
                _live.TryGetValue(cur.WaitObject, out cur);
            }
        }
        return null;
    }

    private string DescribeLive() =>
        _live.Count == 0 ? "none" : string.Join(", ", _live.Values.OrderBy(t => t.Task.Id).Take(10).Select(t => Describe(t.Task.Id)));

    internal string Describe(long id) => _objects.TryGetValue(id, out var o) switch
    {
        true when o is TaskCore t => $"task {t.Id} '{t.Name}'",
        true when o is RegionCore r => $"region {r.Id} '{r.Name}'",
        _ => $"object {id}",
    };

    /// <summary>Task and region names by id, for trace files.</summary>
    internal Dictionary<long, string> Names()
    {
        var d = new Dictionary<long, string>(_objects.Count);
        foreach (var (id, o) in _objects) d[id] = o is TaskCore t ? t.Name : ((RegionCore)o).Name;
        return d;
    }

    private sealed class LiveTask(TaskCore task)
    {
        internal readonly TaskCore Task = task;
        internal bool Waiting;
        internal string? WaitWhat;
        internal long WaitObject;
        internal int Held;
    }

    private sealed class LabDriver(LabRun run) : Driver
    {
        internal override TimeSpan Now => run._now;

        internal override DateTimeOffset UtcNow => run._options.Epoch + run._now;

        internal override ulong NextRandom() => run.NextEntropy();

        internal override void Schedule(TaskCore task) => run.OnSchedule(task);

        internal override void TimerAdded(TimeSpan due) { }

        internal override void Start() { }

        internal override void Stop() { }
    }
}
