namespace Asupersync.Kernel;

/// <summary>
/// A resolved budget (absolute deadline, no relative timeout) and the cancel kind its deadline raises. Immutable,
/// so a region shares one instance with every task spawned without a budget of its own.
/// </summary>
internal sealed class TaskBudget
{
    internal TaskBudget(Budget budget, CancelKind deadlineKind)
    {
        Budget = budget;
        DeadlineKind = deadlineKind;
    }

    internal Budget Budget { get; }

    internal CancelKind DeadlineKind { get; }

    /// <summary>Resolves a spawn budget against its region's shared budget; null when unlimited with priority 0.</summary>
    internal static TaskBudget? For(RegionCore region, Budget spawnBudget, TimeSpan now)
    {
        var shared = region.TaskBudget;
        if (spawnBudget.IsDefault) return shared;
        var kind = spawnBudget.RelativeTimeout is not null ? CancelKind.Timeout : shared?.DeadlineKind ?? CancelKind.Deadline;
        var b = spawnBudget.Resolve(now).Meet(region.Budget);
        if (b.Deadline is { } d && region.Budget.Deadline is { } rd && d >= rd) kind = shared?.DeadlineKind ?? kind;
        return b.IsDefault ? null : new TaskBudget(b, kind);
    }
}
