using System.Text;

namespace Asupersync;

/// <summary>
/// An immutable description of why a cancel happened: its <see cref="Kind"/>, where it came from,
/// when (runtime time), an optional message and a bounded chain of causes.
/// </summary>
/// <remarks>
/// Reasons combine with <see cref="Strengthen(CancelReason?, CancelReason?)"/>, which keeps the more severe one (by tier; ties go to
/// the earlier reason, then to a fixed total order so that the operation is commutative, associative
/// and idempotent). A second cancel request can therefore only tighten a task's reason.
/// </remarks>
public sealed class CancelReason : IEquatable<CancelReason>
{
    /// <summary>The longest cause chain kept; older causes are dropped.</summary>
    public const int MaxCauseDepth = 8;

    /// <summary>Creates a reason.</summary>
    /// <param name="kind">The kind of cancel.</param>
    /// <param name="message">An optional human-readable message.</param>
    /// <param name="time">Runtime time of the request.</param>
    /// <param name="originRegion">Id of the region that originated it (0 when unknown).</param>
    /// <param name="originTask">Id of the task that originated it (0 when unknown).</param>
    /// <param name="cause">The reason that led to this one, if any.</param>
    public CancelReason(CancelKind kind, string? message = null, TimeSpan time = default, long originRegion = 0, long originTask = 0, CancelReason? cause = null)
    {
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown cancel kind.");
        Kind = kind;
        Message = message;
        Time = time;
        OriginRegion = originRegion;
        OriginTask = originTask;
        Cause = Truncate(cause, MaxCauseDepth - 1);
    }

    /// <summary>The kind of cancel.</summary>
    public CancelKind Kind { get; }

    /// <summary>An optional message.</summary>
    public string? Message { get; }

    /// <summary>Runtime time at which the cancel was requested.</summary>
    public TimeSpan Time { get; }

    /// <summary>Id of the originating region (0 when unknown).</summary>
    public long OriginRegion { get; }

    /// <summary>Id of the originating task (0 when unknown).</summary>
    public long OriginTask { get; }

    /// <summary>The reason that caused this one (bounded to <see cref="MaxCauseDepth"/> links).</summary>
    public CancelReason? Cause { get; }

    /// <summary>Severity tier, 0 (User) to 5 (Shutdown). Harsher tiers get shorter cleanup and run first.</summary>
    public int Tier => TierOf(Kind);

    /// <summary>The severity tier of a kind.</summary>
    /// <param name="kind">A cancel kind.</param>
    /// <returns>0 (User) to 5 (Shutdown).</returns>
    public static int TierOf(CancelKind kind) => kind switch
    {
        CancelKind.User => 0,
        CancelKind.Timeout or CancelKind.Deadline => 1,
        CancelKind.PollQuota or CancelKind.CostBudget => 2,
        CancelKind.FailFast or CancelKind.RaceLost or CancelKind.LinkedExit => 3,
        CancelKind.ParentCancelled or CancelKind.ResourceUnavailable or CancelKind.Deadlock => 4,
        CancelKind.Shutdown => 5,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The default cleanup allowance of a tier: how long a task cancelled for such a reason may drain.</summary>
    /// <param name="kind">A cancel kind.</param>
    /// <returns>30 s for User down to 2 s for Shutdown.</returns>
    public static TimeSpan DefaultCleanupAllowance(CancelKind kind) => TierOf(kind) switch
    {
        0 => TimeSpan.FromSeconds(30),
        1 => TimeSpan.FromSeconds(20),
        2 => TimeSpan.FromSeconds(10),
        3 => TimeSpan.FromSeconds(5),
        4 => TimeSpan.FromSeconds(5),
        _ => TimeSpan.FromSeconds(2),
    };

    /// <summary>A user cancel.</summary>
    /// <param name="message">Optional message.</param>
    /// <returns>The reason.</returns>
    public static CancelReason User(string? message = null) => new(CancelKind.User, message);

    /// <summary>A timeout.</summary>
    /// <param name="message">Optional message.</param>
    /// <returns>The reason.</returns>
    public static CancelReason Timeout(string? message = null) => new(CancelKind.Timeout, message);

    /// <summary>A shutdown.</summary>
    /// <param name="message">Optional message.</param>
    /// <returns>The reason.</returns>
    public static CancelReason Shutdown(string? message = null) => new(CancelKind.Shutdown, message);

    /// <summary>Derives the reason a descendant receives when this one cancels its parent.</summary>
    /// <param name="region">The region the descendant belongs to.</param>
    /// <param name="time">Runtime time.</param>
    /// <returns>A <see cref="CancelKind.ParentCancelled"/> reason caused by this one.</returns>
    public CancelReason ForChild(long region, TimeSpan time) =>
        Kind == CancelKind.Shutdown
            ? this
            : new CancelReason(CancelKind.ParentCancelled, null, time, region, 0, this);

    /// <summary>
    /// Keeps the more severe of two reasons (higher tier; ties go to the earlier time, then to a fixed total
    /// order). Commutative, associative and idempotent.
    /// </summary>
    /// <param name="a">One reason (may be null).</param>
    /// <param name="b">The other reason (may be null).</param>
    /// <returns>The stronger reason, or the non-null one.</returns>
    public static CancelReason? Strengthen(CancelReason? a, CancelReason? b)
    {
        if (a is null) return b;
        if (b is null) return a;
        return Compare(a, b) >= 0 ? a : b;
    }

    /// <summary>Instance form of <see cref="Strengthen(CancelReason?, CancelReason?)"/>.</summary>
    /// <param name="other">The other reason.</param>
    /// <returns>The stronger reason.</returns>
    public CancelReason Strengthen(CancelReason? other) => Strengthen(this, other)!;

    /// <summary>Total order used by <see cref="Strengthen(CancelReason?, CancelReason?)"/>: positive when <paramref name="a"/> is stronger.</summary>
    internal static int Compare(CancelReason a, CancelReason b)
    {
        if (ReferenceEquals(a, b)) return 0;
        int c = a.Tier.CompareTo(b.Tier);
        if (c != 0) return c;
        c = b.Time.CompareTo(a.Time); // earlier wins
        if (c != 0) return c;
        c = ((int)a.Kind).CompareTo((int)b.Kind);
        if (c != 0) return c;
        c = b.OriginRegion.CompareTo(a.OriginRegion);
        if (c != 0) return c;
        c = b.OriginTask.CompareTo(a.OriginTask);
        if (c != 0) return c;
        c = string.CompareOrdinal(b.Message, a.Message);
        if (c != 0) return c;
        return (a.Cause, b.Cause) switch
        {
            (null, null) => 0,
            (null, _) => -1,
            (_, null) => 1,
            _ => Compare(a.Cause!, b.Cause!),
        };
    }

    internal CancelReason WithOrigin(TimeSpan time, long region, long task) =>
        Time == default && OriginRegion == 0 && OriginTask == 0
            ? new CancelReason(Kind, Message, time, region, task, Cause)
            : this;

    private static CancelReason? Truncate(CancelReason? r, int depth)
    {
        if (r is null) return null;
        if (depth <= 0) return null;
        int d = 0;
        for (var x = r; x is not null; x = x.Cause) d++;
        if (d <= depth) return r;
        return new CancelReason(r.Kind, r.Message, r.Time, r.OriginRegion, r.OriginTask, Truncate(r.Cause, depth - 1));
    }

    /// <inheritdoc />
    public bool Equals(CancelReason? other) => other is not null && Compare(this, other) == 0;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is CancelReason r && Equals(r);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, Time, OriginRegion, OriginTask, Message);

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("Cancelled(").Append(Kind);
        if (Message is not null) sb.Append(": ").Append(Message);
        if (OriginRegion != 0 || OriginTask != 0) sb.Append(" from region ").Append(OriginRegion).Append(" task ").Append(OriginTask);
        sb.Append(" at ").Append(Time.TotalMilliseconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)).Append("ms");
        if (Cause is not null) sb.Append(" <- ").Append(Cause.Kind);
        sb.Append(')');
        return sb.ToString();
    }
}
