namespace Asupersync.Sagas;

/// <summary>
/// What kind of operation a saga step performs, in the vocabulary of the runtime's own effects (DESIGN §4). The
/// kind decides the step's coordination: a <em>monotone</em> step only adds information (more inputs can only add
/// to its result, never retract it), so consecutive monotone steps may run concurrently without coordinating; a
/// <em>non-monotone</em> step decides something final or depends on what is absent, so it needs every earlier step
/// complete and durable first — a barrier (CALM theorem: Hellerstein and Alvaro, "Keeping CALM", CACM 2020).
/// </summary>
/// <remarks>See <see cref="SagaOpKinds.IsMonotone"/> for the classification.</remarks>
public enum SagaOpKind
{
    /// <summary>Reserve a resource reversibly (hold stock, place a hold on a card). Monotone.</summary>
    Reserve,

    /// <summary>Send a message or notification (an email, an event). Monotone.</summary>
    Send,

    /// <summary>Acquire a permit, slot or lock that only grows the set of holdings. Monotone.</summary>
    Acquire,

    /// <summary>Renew a lease or reservation (extends, never shortens). Monotone.</summary>
    Renew,

    /// <summary>Delegate a capability or sub-task to another party. Monotone.</summary>
    Delegate,

    /// <summary>Merge into a CRDT (a join-semilattice: order and repetition do not matter). Monotone.</summary>
    CrdtMerge,

    /// <summary>Request a cancellation (a request only strengthens; it never un-cancels). Monotone.</summary>
    CancelRequest,

    /// <summary>Commit a reservation or transaction: final, decides the outcome. Non-monotone (the default kind).</summary>
    Commit,

    /// <summary>Abort a reservation or transaction. Non-monotone.</summary>
    Abort,

    /// <summary>Receive and consume a message, or read a value and act on it (depends on what has arrived). Non-monotone.</summary>
    Recv,

    /// <summary>Release a permit, slot or lock (retracts a holding). Non-monotone.</summary>
    Release,

    /// <summary>Close a region (needs to know that nothing else is running in it). Non-monotone.</summary>
    RegionClose,

    /// <summary>Drain a cancellation (waits for the absence of running work). Non-monotone.</summary>
    CancelDrain,

    /// <summary>Mark an obligation as leaked (a verdict about absence). Non-monotone.</summary>
    MarkLeaked,

    /// <summary>Check a budget (a threshold test on a total). Non-monotone.</summary>
    BudgetCheck,

    /// <summary>Detect leaks (a claim that nothing is left open). Non-monotone.</summary>
    LeakDetection,
}

/// <summary>The CALM classification of <see cref="SagaOpKind"/>.</summary>
public static class SagaOpKinds
{
    /// <summary>Every kind, in declaration order.</summary>
    public static IReadOnlyList<SagaOpKind> All { get; } = Enum.GetValues<SagaOpKind>();

    /// <summary>
    /// True for the monotone kinds — Reserve, Send, Acquire, Renew, Delegate, CrdtMerge, CancelRequest — and false
    /// for the non-monotone ones — Commit, Abort, Recv, Release, RegionClose, CancelDrain, MarkLeaked, BudgetCheck,
    /// LeakDetection.
    /// </summary>
    /// <param name="kind">The kind.</param>
    /// <returns>Whether a step of this kind can run without coordination next to other monotone steps.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined kind.</exception>
    public static bool IsMonotone(this SagaOpKind kind) => kind switch
    {
        SagaOpKind.Reserve or SagaOpKind.Send or SagaOpKind.Acquire or SagaOpKind.Renew or SagaOpKind.Delegate
            or SagaOpKind.CrdtMerge or SagaOpKind.CancelRequest => true,
        SagaOpKind.Commit or SagaOpKind.Abort or SagaOpKind.Recv or SagaOpKind.Release or SagaOpKind.RegionClose
            or SagaOpKind.CancelDrain or SagaOpKind.MarkLeaked or SagaOpKind.BudgetCheck or SagaOpKind.LeakDetection => false,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a saga operation kind."),
    };
}
