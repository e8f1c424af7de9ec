namespace Asupersync.Kernel;

/// <summary>
/// Hooks the kernel calls at every protocol event. Production runs with none (a null check per event); the Lab
/// installs one to record traces, feed oracles and compute step dependencies. Hooks run synchronously on the
/// thread of the event and must not call back into user code.
/// </summary>
internal interface IRuntimeObserver
{
    void OnTaskSpawned(TaskCore task);

    void OnStep(TaskCore task, bool begin);

    void OnCancelRequested(TaskCore task, CancelReason reason);

    void OnCancelAcknowledged(TaskCore task, CancelReason reason);

    /// <summary>
    /// A cancel request reached <paramref name="task"/> and left its cleanup budget at <paramref name="deadline"/>
    /// (absolute runtime time; <see cref="TimeSpan.MaxValue"/> for none) and <paramref name="pollLimit"/> (the poll
    /// count at which the budget is spent; null for none). Reported on every request, so an observer can check that a
    /// later request never lengthens either half.
    /// </summary>
    void OnCleanupBudget(TaskCore task, TimeSpan deadline, long? pollLimit)
    {
    }

    void OnBudgetOverrun(TaskCore task);

    void OnTaskCompleted(TaskCore task, Outcome<Unit> outcome);

    void OnWait(TaskCore task, string what, long objectId);

    void OnWaitInterrupted(TaskCore task);

    void OnRegionOpened(RegionCore region);

    void OnRegionState(RegionCore region, RegionState state);

    void OnFinalizer(RegionCore region, int index);

    void OnObligation(Obligation obligation, ObligationState state);

    /// <summary>A runtime object was touched by the running step (for dependency tracking in exploration).</summary>
    void OnAccess(long objectId, string kind);

    /// <summary>
    /// <paramref name="task"/> suspended at a choice point (see <see cref="ChoicePoint"/>) and is ready again; the
    /// operation it is about to perform runs in its next step.
    /// </summary>
    void OnChoicePoint(TaskCore task) { }
}
