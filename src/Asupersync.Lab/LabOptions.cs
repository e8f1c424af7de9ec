using Asupersync.Lab.Chaos;

namespace Asupersync.Lab;

/// <summary>Settings of a Lab run. Every property has a default suited to unit tests.</summary>
public sealed record LabOptions
{
    /// <summary>The defaults.</summary>
    public static LabOptions Default { get; } = new();

    /// <summary>The most scheduling steps one run may take before it is stopped and reported (default 100,000).</summary>
    public int MaxSteps { get; init; } = 100_000;

    /// <summary>Kernel settings of the runtime the Lab drives (leak response, cleanup allowances, root capabilities).</summary>
    public RuntimeOptions Runtime { get; init; } = new() { PrintDiagnostics = false };

    /// <summary>The virtual wall clock at runtime time zero (what <see cref="Cx.UtcNow"/> starts from).</summary>
    public DateTimeOffset Epoch { get; init; } = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Seeded fault injection (spurious cancels and delays); default none.</summary>
    public ChaosOptions Chaos { get; init; } = ChaosOptions.None;

    /// <summary>Extra oracles to run next to the built-in ones; each run calls every factory once.</summary>
    public IReadOnlyList<Func<LabOracle>> Oracles { get; init; } = [];

    /// <summary>
    /// Whether every kernel event is recorded in the trace (default true). Exploration turns it off for speed
    /// and re-runs a failing schedule with it on.
    /// </summary>
    public bool RecordEvents { get; init; } = true;

    /// <summary>
    /// How long (wall clock) a run that is otherwise stuck waits for a continuation that a task's foreign await
    /// (Task.Delay, Task.Run, real I/O) may still deliver, so that it can be named in the determinism report
    /// (default 250 ms). Used only on runs that are already failing.
    /// </summary>
    public TimeSpan ForeignContinuationGrace { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Where failing runs save their traces (default: <c>asupersync-lab</c> under the temp directory).</summary>
    public string? TraceDirectory { get; init; }

    /// <summary>
    /// Called once per run, before the root starts, with the runtime the Lab drives: the place to install
    /// per-runtime services such as the virtual network (<c>rt =&gt; VirtualNetwork.Install(rt, options)</c>).
    /// Do not start or dispose anything on it: the Lab owns the run.
    /// </summary>
    public Action<Runtime>? ConfigureRuntime { get; init; }

    /// <summary>
    /// Whether the refinement oracle (<see cref="LabOracles.Refinement"/>) replays every kernel event of the run through the executable
    /// reference model (<c>Asupersync.Model</c>) and fails the run at the first event that is not a step of the model.
    /// </summary>
    public bool CheckRefinement { get; init; }

    /// <summary>
    /// Whether every synchronization operation (lock, semaphore, channel, notify, barrier, once-cell, join, and the
    /// <c>await using</c> release of a guard) is a choice point where the Lab may switch tasks, even when the
    /// operation would complete without suspending (default true). Production runs other threads between any two
    /// such operations; with this off the Lab only switches where a task really suspends, which is coarser than
    /// production and can certify a program production breaks. Turn it off only to measure its cost.
    /// </summary>
    public bool ChoicePoints { get; init; } = true;

    /// <summary>
    /// Whether a root that ends <see cref="OutcomeKind.Err"/> counts as a passing run. Set it to false to fail such a
    /// run with the <see cref="LabOracles.Err"/> oracle, so that an assertion helper reporting through an error is
    /// not lost (default false: a root ending Err fails the run). Set it to true where an Err outcome is the expected result of the program.
    /// </summary>
    public bool AcceptErr { get; init; }

    /// <summary>
    /// What the Lab may assume about state shared between tasks outside runtime objects.
    /// <see cref="SharedState.Undeclared"/> assumes nothing: exploration treats every step that ran user code as
    /// dependent with every other task's such steps, and its verdicts hold for plain fields too (the default).
    /// <see cref="SharedState.Declared"/> is the full reduction, sound only when every shared plain field is
    /// declared with <see cref="LabAccess"/>.
    /// </summary>
    public SharedState SharedState { get; init; } = SharedState.Undeclared;

    /// <summary>A name for the program, written to traces and replay commands (default: none).</summary>
    public string? ProgramName { get; init; }
}

/// <summary>What exploration may assume about state that tasks share outside runtime objects (locks, channels…).</summary>
/// <remarks>
/// DPOR and Foata fingerprints relate two steps as dependent when they touch a common object. Runtime objects
/// report their own accesses; a plain field does not. A step that ran user code between two choice points may
/// have touched any such field, so, unless told otherwise, the Lab must assume it did.
/// </remarks>
public enum SharedState
{
    /// <summary>
    /// The sound choice: user state is not declared, so every task step that ran user code is treated
    /// as dependent with every other task's such steps. DPOR then reduces only over the clock and internal tasks,
    /// and "exhausted" is a promise about every field the program has.
    /// </summary>
    Undeclared,

    /// <summary>
    /// The program declares every piece of shared user state (<see cref="LabVar{T}"/> or <see cref="LabAccess"/>),
    /// so steps are related only through the objects they report: full reduction. An undeclared shared field makes
    /// the search unsound (it may prune an order that matters).
    /// </summary>
    Declared,
}

