namespace Asupersync;

/// <summary>
/// Resource limits for a task, region or cleanup: a deadline (absolute, on the runtime clock) and/or a
/// timeout (relative, resolved against the clock when the budget is applied), a poll quota (how many times
/// the task may be resumed), a cost quota (units charged with <see cref="Cx.Charge"/>) and a priority.
/// </summary>
/// <remarks>
/// Budgets combine by <see cref="Meet"/>: the earliest deadline, the smallest quotas and the highest
/// priority. A child's budget is always <c>parent ⊓ child</c>, so a child can never outlive its parent's
/// deadline. Exhausting a deadline or quota turns into a cancel request with the matching
/// <see cref="CancelKind"/>.
/// </remarks>
public readonly record struct Budget
{
    /// <summary>No limits at all; the identity of <see cref="Meet"/>.</summary>
    public static Budget Unlimited => default;

    /// <summary>Absolute deadline on the runtime clock (time since the runtime started), or null.</summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>Relative timeout, resolved to a deadline when the budget is applied, or null.</summary>
    public TimeSpan? RelativeTimeout { get; init; }

    /// <summary>How many resumptions (polls) the task may use, or null.</summary>
    public int? PollQuota { get; init; }

    /// <summary>How many cost units the task may charge, or null.</summary>
    public long? CostQuota { get; init; }

    /// <summary>Scheduling priority; higher runs first within a lane. Meet keeps the highest.</summary>
    public byte Priority { get; init; }

    /// <summary>True when no field limits anything.</summary>
    public bool IsUnlimited => Deadline is null && RelativeTimeout is null && PollQuota is null && CostQuota is null;

    /// <summary>Equal to <c>default</c> (unlimited, priority 0), without the record's field-by-field comparer calls.</summary>
    internal bool IsDefault => IsUnlimited && Priority == 0;

    /// <summary>A budget that expires <paramref name="timeout"/> after it is applied.</summary>
    /// <param name="timeout">A non-negative duration.</param>
    /// <returns>The budget.</returns>
    public static Budget FromTimeout(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "A timeout cannot be negative.");
        return new Budget { RelativeTimeout = timeout };
    }

    /// <summary>The common constructor: a budget that expires <paramref name="timeout"/> after it is applied.</summary>
    /// <param name="timeout">A non-negative duration.</param>
    /// <returns>The budget.</returns>
    /// <example><code>listener.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)));</code></example>
    public static Budget Timeout(TimeSpan timeout) => FromTimeout(timeout);

    /// <summary>A budget with an absolute deadline on the runtime clock.</summary>
    /// <param name="deadline">Runtime time (since the runtime started).</param>
    /// <returns>The budget.</returns>
    public static Budget AtDeadline(TimeSpan deadline) => new() { Deadline = deadline };

    /// <summary>A budget with a poll quota.</summary>
    /// <param name="polls">A positive count.</param>
    /// <returns>The budget.</returns>
    public static Budget Polls(int polls)
    {
        if (polls <= 0) throw new ArgumentOutOfRangeException(nameof(polls), polls, "A poll quota must be positive.");
        return new Budget { PollQuota = polls };
    }

    /// <summary>A budget with a cost quota.</summary>
    /// <param name="cost">A non-negative quota.</param>
    /// <returns>The budget.</returns>
    public static Budget Cost(long cost)
    {
        if (cost < 0) throw new ArgumentOutOfRangeException(nameof(cost), cost, "A cost quota cannot be negative.");
        return new Budget { CostQuota = cost };
    }

    /// <summary>The greatest lower bound of two budgets: earliest deadline and timeout, smallest quotas, highest priority.</summary>
    /// <param name="other">The other budget.</param>
    /// <returns>The meet.</returns>
    public Budget Meet(Budget other) => other.IsDefault ? this : IsDefault ? other : new()
    {
        Deadline = Min(Deadline, other.Deadline),
        RelativeTimeout = Min(RelativeTimeout, other.RelativeTimeout),
        PollQuota = Min(PollQuota, other.PollQuota),
        CostQuota = Min(CostQuota, other.CostQuota),
        Priority = Math.Max(Priority, other.Priority),
    };

    /// <summary>The meet operator.</summary>
    /// <param name="a">One budget.</param>
    /// <param name="b">The other.</param>
    /// <returns><c>a.Meet(b)</c>.</returns>
    public static Budget operator &(Budget a, Budget b) => a.Meet(b);

    /// <summary>Turns the relative timeout into an absolute deadline measured from <paramref name="now"/>.</summary>
    /// <param name="now">Current runtime time.</param>
    /// <returns>A budget whose <see cref="RelativeTimeout"/> is null.</returns>
    public Budget Resolve(TimeSpan now) => RelativeTimeout is { } t
        ? this with { RelativeTimeout = null, Deadline = Min(Deadline, Saturate(now, t)) }
        : this;

    /// <summary>Returns this budget with the given priority.</summary>
    /// <param name="priority">The priority.</param>
    /// <returns>The budget.</returns>
    public Budget WithPriority(byte priority) => this with { Priority = priority };

    private static TimeSpan Saturate(TimeSpan now, TimeSpan t) =>
        t >= TimeSpan.MaxValue - now ? TimeSpan.MaxValue : now + t;

    private static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : (a < b ? a : b);
    private static int? Min(int? a, int? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    /// <inheritdoc />
    public override string ToString()
    {
        if (IsUnlimited && Priority == 0) return "Budget(unlimited)";
        var parts = new List<string>(5);
        if (Deadline is { } d) parts.Add($"deadline={d.TotalMilliseconds}ms");
        if (RelativeTimeout is { } t) parts.Add($"timeout={t.TotalMilliseconds}ms");
        if (PollQuota is { } p) parts.Add($"polls={p}");
        if (CostQuota is { } c) parts.Add($"cost={c}");
        if (Priority != 0) parts.Add($"priority={Priority}");
        return "Budget(" + string.Join(", ", parts) + ")";
    }
}
