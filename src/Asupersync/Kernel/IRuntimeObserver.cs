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
}
