namespace Asupersync.Kernel;

/// <summary>
/// The seam between the kernel and whatever drives it. The kernel (tasks, regions, cancel protocol,
/// obligations, timers) is the same code under every driver; a driver only decides
/// <em>which</em> ready task runs next and on which thread, what time it is, and where entropy comes from.
/// Production: <see cref="Scheduling.ThreeLaneScheduler"/> (multi-threaded, wall clock). The Lab: a
/// single-threaded, seeded driver with virtual time.
/// </summary>
internal abstract class Driver
{
    /// <summary>The kernel this driver runs; set once by <see cref="RuntimeCore"/>.</summary>
    internal RuntimeCore Core { get; set; } = null!;

    /// <summary>Current runtime time: elapsed since the runtime started (monotonic).</summary>
    internal abstract TimeSpan Now { get; }

    /// <summary>Current wall-clock time as the driver sees it (virtual in the Lab).</summary>
    internal abstract DateTimeOffset UtcNow { get; }

    /// <summary>A fresh 64-bit random value (seeded in the Lab).</summary>
    internal abstract ulong NextRandom();

    /// <summary>
    /// A task has work to do (its first step, or a continuation). Called at most once until the task's
    /// next step starts; may be called from any thread. The driver picks the lane from
    /// <see cref="TaskCore.Lane"/>.
    /// </summary>
    internal abstract void Schedule(TaskCore task);

    /// <summary>
    /// Whether a task's first step may run inline on the spawning thread (<see cref="TaskCore.Start"/>). A driver that
    /// must choose every step itself (the Lab) says no; the kernel then schedules the step as usual.
    /// </summary>
    internal virtual bool StartsInline => false;

    /// <summary>A timer was added that is now the earliest; a driver that sleeps until the next timer re-arms.</summary>
    internal abstract void TimerAdded(TimeSpan due);

    /// <summary>Starts the driver (workers, timer pump). Called once by the runtime.</summary>
    internal abstract void Start();

    /// <summary>Stops the driver; queued work is dropped. Idempotent.</summary>
    internal abstract void Stop();
}

/// <summary>The three scheduling lanes, most urgent first.</summary>
internal enum Lane
{
    /// <summary>Tasks with a pending or acknowledged cancel, ordered by reason severity.</summary>
    Cancel = 0,

    /// <summary>Tasks with a deadline, earliest first.</summary>
    Timed = 1,

    /// <summary>Everything else: priority, then FIFO.</summary>
    Ready = 2,
}
