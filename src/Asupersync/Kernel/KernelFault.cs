namespace Asupersync.Kernel;

/// <summary>
/// Test-only fault injection: each value plants one plausible kernel bug, to prove that the Lab's refinement oracle
/// catches it (the mutation check of docs/FORMAL.md). Set per runtime through <see cref="RuntimeOptions.Fault"/>,
/// never globally, so that tests running in parallel are not affected. Production code never sets it.
/// </summary>
internal enum KernelFault
{
    /// <summary>No fault: the kernel as written.</summary>
    None,

    /// <summary>A region finalizes and closes while one of its tasks is still live (an off-by-one in the live count).</summary>
    CloseWithLiveTask,

    /// <summary>A draining task's next checkpoint raises the cancel again before its cleanup budget is spent.</summary>
    RaiseTwice,

    /// <summary>A task that ends Ok or Err drops its Reserved obligations without aborting them or recording the leak.</summary>
    DropObligationSilently,

    /// <summary>A region skips its first-registered finalizer (the last to run, LIFO).</summary>
    SkipFinalizer,

    /// <summary>A second cancel request replaces the task's reason instead of strengthening it (it can weaken it).</summary>
    WeakenReason,
}
