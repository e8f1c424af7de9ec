namespace Asupersync.Model;

/// <summary>
/// The rules of the small-step semantics. Each observable kernel event must be one of them, enabled in the
/// model's current state; silent rules (<see cref="BodyEnd"/>, <see cref="RegionBodyDone"/>) are taken by the
/// model itself when the next observable rule needs them. docs/FORMAL.md lists each with the kernel code that
/// implements it and the Coq constructor that mirrors it.
/// </summary>
public enum ModelRule
{
    /// <summary>A task is admitted into a region that admits it (Open; Closing from one of its own tasks).</summary>
    Spawn,

    /// <summary>A Finalizing region with no live task starts its next finalizer as an internal, masked task.</summary>
    SpawnFinalizer,

    /// <summary>The first step of a task: <c>Created → Running</c>.</summary>
    Start,

    /// <summary>The scheduler runs one step of a live task.</summary>
    Step,

    /// <summary>A live task starts a runtime wait (a primitive, a sleep, a channel).</summary>
    WaitBlock,

    /// <summary>A task blocks joining a task that has not completed.</summary>
    JoinBlock,

    /// <summary>A task blocks until a region it opened closes.</summary>
    RegionWait,

    /// <summary>A cancel interrupts a task's wait (only a task with a pending cancel is interrupted).</summary>
    WaitInterrupt,

    /// <summary>The first cancel request: <c>Created | Running → CancelRequested</c>.</summary>
    CancelRequest,

    /// <summary>A later request strengthens the reason (never weakens it) and tightens the cleanup deadline (never lengthens it).</summary>
    CancelStrengthen,

    /// <summary>A cancelled task's open regions are cancelled, and a cancelled region's live tasks are (checked when the step ends).</summary>
    CancelPropagate,

    /// <summary>A checkpoint raises the pending cancel once: <c>CancelRequested → Cancelling</c> (not while masked, unless the cleanup budget is spent).</summary>
    CancelAcknowledge,

    /// <summary>A checkpoint inside a mask passes; the cancel stays pending.</summary>
    MaskedCheckpoint,

    /// <summary>A task enters a cancel mask (bounded depth).</summary>
    MaskEnter,

    /// <summary>A task leaves a cancel mask.</summary>
    MaskExit,

    /// <summary>Once the cleanup budget is spent, the next checkpoint raises once more, with a budget (Deadline) reason.</summary>
    CleanupExhaustedRaise,

    /// <summary>A cancelled task is reported overrunning its cleanup budget, once, only after the budget is spent.</summary>
    BudgetOverrun,

    /// <summary>Silent: the body ended; the task settles its obligations (<c>→ Finalizing</c>).</summary>
    BodyEnd,

    /// <summary>Completion with Ok (only without a pending cancel).</summary>
    CompleteOk,

    /// <summary>Completion with Err (only without a pending cancel).</summary>
    CompleteErr,

    /// <summary>Completion with Cancelled.</summary>
    CompleteCancelled,

    /// <summary>Completion with Panicked.</summary>
    CompletePanicked,

    /// <summary>The Lab's chaos requests a spurious cancel of a live task.</summary>
    ChaosCancel,

    /// <summary>A root region opens.</summary>
    RegionOpen,

    /// <summary>A live task opens a child of its region, which must admit it; the child's deadline is the meet with its parent's.</summary>
    RegionOpenChild,

    /// <summary>Silent: the region's body task completed: <c>Open → Closing</c>.</summary>
    RegionBodyDone,

    /// <summary>A region is cancelled: <c>Open | Closing → Draining</c>.</summary>
    RegionCancel,

    /// <summary>A Draining region is cancelled again (the reason is strengthened).</summary>
    RegionCancelStrengthen,

    /// <summary>Every task of the region completed and every child region closed: <c>→ Finalizing</c>.</summary>
    RegionFinalize,

    /// <summary>A finalizer is registered on a region that is not yet Finalizing.</summary>
    FinalizerRegister,

    /// <summary>The next finalizer (LIFO) starts, exactly once.</summary>
    FinalizerRun,

    /// <summary>Every finalizer ran, no task is live, every child is Closed and the ledger is empty: <c>→ Closed</c>, with an outcome between the join of its failures and the join of all it saw.</summary>
    RegionClose,

    /// <summary>A live task reserves an obligation in a region that admits it.</summary>
    Reserve,

    /// <summary>A Reserved obligation is committed (final).</summary>
    Commit,

    /// <summary>A Reserved obligation is aborted (final); at a Cancelled or Panicked end the runtime aborts what is left.</summary>
    Abort,

    /// <summary>A Reserved obligation of a holder that ends Ok or Err is leaked (recorded, final); the holder's outcome is at least Err when leaks fail.</summary>
    Leak,

    /// <summary>The virtual clock fires a due timer.</summary>
    Tick,

    /// <summary>Virtual time moves forward (never back).</summary>
    TimeAdvance,

    /// <summary>A task's deadline is the meet of its own and its region's.</summary>
    DeadlineMeet,

    /// <summary>The run ended with the root closed: every task completed, every region closed, every obligation final.</summary>
    Quiescence,
}
