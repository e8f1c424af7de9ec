namespace Asupersync.Lab;

/// <summary>
/// The built-in oracles, on in every Lab run. Besides these event-driven checkers the run itself reports
/// <see cref="Deadlock"/>, <see cref="Futurelock"/> (a blocked task holding obligations), <see cref="Determinism"/>
/// (foreign-thread continuations, code running outside its task's steps, replay divergence) and
/// <see cref="StepLimit"/>.
/// </summary>
public static class LabOracles
{
    /// <summary>A task outlived its region.</summary>
    public const string TaskLeak = "TaskLeak";

    /// <summary>A task ended Ok or Err still holding a Reserved obligation.</summary>
    public const string ObligationLeak = "ObligationLeak";

    /// <summary>A closed region (or the finished run) still holds a task, a child region or an obligation.</summary>
    public const string Quiescence = "Quiescence";

    /// <summary>A registered region finalizer did not run, or ran twice.</summary>
    public const string Finalizer = "Finalizer";

    /// <summary>The region tree is malformed: a child opened under a closed or unknown parent, a parent closed before its child, a task admitted into a closed region.</summary>
    public const string RegionTree = "RegionTree";

    /// <summary>An effect was used without its capability.</summary>
    public const string AmbientAuthority = "AmbientAuthority";

    /// <summary>A child's deadline is later than its parent's.</summary>
    public const string DeadlineMonotone = "DeadlineMonotone";

    /// <summary>The cancel protocol went through phases in an illegal order (acknowledged without a request, raised twice, activity after completion).</summary>
    public const string CancelProtocol = "CancelProtocol";

    /// <summary>A second cancel request weakened a task's reason.</summary>
    public const string CancelReason = "CancelReason";

    /// <summary>A task ran past its cleanup budget (CancelDebt).</summary>
    public const string BudgetOverrun = "BudgetOverrun";

    /// <summary>No task can run, no timer is pending, and the root has not closed.</summary>
    public const string Deadlock = "Deadlock";

    /// <summary>A task blocked forever while holding Reserved obligations.</summary>
    public const string Futurelock = "Futurelock";

    /// <summary>The run is not deterministic: a continuation from a foreign thread, code outside its task's steps, or a replay that diverged from its trace.</summary>
    public const string Determinism = "Determinism";

    /// <summary>The root ended Panicked: an exception escaped the program (for example a failed check inside it).</summary>
    public const string Panicked = "Panicked";

    /// <summary>A kernel event was not a step of the executable reference model (see <see cref="LabOptions.CheckRefinement"/> and docs/FORMAL.md).</summary>
    public const string Refinement = "Refinement";

    /// <summary>
    /// The root ended Err: the program (or an assertion helper throwing a <see cref="TaskErrorException"/>) reported
    /// an error. Fails the run unless <see cref="LabOptions.AcceptErr"/> is set.
    /// </summary>
    public const string Err = "Err";

    /// <summary>The run did not finish within <see cref="LabOptions.MaxSteps"/>.</summary>
    public const string StepLimit = "StepLimit";

    /// <summary>
    /// Names primitives use to report their own violations through the kernel observer
    /// (<c>OnAccess(objectId, "oracle:&lt;Name&gt;:&lt;message&gt;")</c>); the Lab reports them under that name.
    /// </summary>
    public static IReadOnlyList<string> PrimitiveHooks { get; } = ["LoserDrain", "ChannelAtomicity", "LostWakeup", "DuplicateWakeup", "Futurelock"];

    internal static LabOracle[] CreateBuiltIn() =>
    [
        new TaskLeakOracle(),
        new ObligationLeakOracle(),
        new QuiescenceOracle(),
        new FinalizerOracle(),
        new RegionTreeOracle(),
        new AmbientAuthorityOracle(),
        new DeadlineMonotoneOracle(),
        new CancelProtocolOracle(),
        new CancelReasonOracle(),
        new BudgetOverrunOracle(),
        new PrimitiveViolationOracle(),
    ];
}
