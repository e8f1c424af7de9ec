using Asupersync.Channels;

namespace Asupersync;

/// <summary>
/// The branches of a combinator, spawned as tasks of the combinator's own child region. Each body reports,
/// from its <c>finally</c>, that it ended; the combinator then joins that branch for its real outcome.
/// </summary>
/// <remarks>
/// The completion queue is the library's own unbounded channel: a cancel-safe wait, so an outside cancel of the
/// combinator interrupts it cleanly (the region then cancels and drains every branch).
/// </remarks>
internal sealed class BranchSet<T>
{
    private readonly MpscCore<int> _ended = new(int.MaxValue);
    private readonly bool[] _settled;
    private long _id;

    internal BranchSet(Cx rcx, string name, IReadOnlyList<Func<Cx, Task<T>>> branches)
    {
        Handles = new TaskHandle<T>[branches.Count];
        _settled = new bool[branches.Count];
        for (int i = 0; i < branches.Count; i++)
        {
            var body = branches[i] ?? throw new ArgumentException("A branch is null.", nameof(branches));
            int index = i;
            Handles[i] = rcx.Spawn($"{name}[{i}]", async bcx =>
            {
                try
                {
                    return await body(bcx);
                }
                finally
                {
                    _ended.TrySend(index);
                }
            });
        }
    }

    internal TaskHandle<T>[] Handles { get; }

    /// <summary>Posts an outside event (a negative code, e.g. a timer) into the completion queue.</summary>
    internal void Post(int code) => _ended.TrySend(code);

    /// <summary>
    /// Waits for the next branch whose body ended and returns its index and outcome; a posted outside event
    /// returns its (negative) code and a default outcome.
    /// </summary>
    internal async ValueTask<(int Index, Outcome<T> Outcome)> NextAsync(Cx rcx)
    {
        int i = await _ended.ReceiveAsync(rcx);
        if (i < 0) return (i, default);
        var o = await Handles[i].JoinAsync(rcx);
        _settled[i] = true;
        return (i, o);
    }

    /// <summary>Cancels every unsettled branch with <paramref name="reason"/>, waits for them all and returns the
    /// join of the outcomes that are more severe than that cancellation (a panic is never hidden).</summary>
    internal async ValueTask<Outcome<Unit>> CancelAndDrainAsync(Cx rcx, CancelReason reason)
    {
        for (int i = 0; i < Handles.Length; i++)
        {
            if (!_settled[i]) Handles[i].Cancel(reason);
        }
        var acc = Outcome.Ok();
        for (int i = 0; i < Handles.Length; i++)
        {
            if (_settled[i]) continue;
            var o = await Handles[i].JoinAsync(rcx);
            _settled[i] = true;
            if (o.IsPanicked || (o.IsCancelled && o.CancelReason!.Tier > reason.Tier)) acc = Outcome<Unit>.Join(acc, o.WithoutValue());
        }
        foreach (var h in Handles)
            Sync.PrimitiveSupport.Invariant(h.IsCompleted, ref _id, "LoserDrain", $"branch '{h.Name}' still running after the combinator drained its losers");
        return acc;
    }
}

/// <summary>Structured combinators: every branch runs as a task of a child region, so nothing outlives the call.</summary>
/// <remarks>
/// <para>Every combinator opens a child region of the calling task's region (policy
/// <see cref="RegionPolicy.CollectAll"/>), spawns its branches into it and returns only after the region closed:
/// losers are cancelled <em>and drained</em> before the call returns.</para>
/// <para>Capabilities: every combinator opens a child region and spawns its branches there, so it needs
/// <see cref="Capabilities.Spawn"/>; <see cref="TimeoutAsync{T}"/>, <see cref="HedgeAsync{T}"/> and
/// <see cref="RetryAsync{T}"/> also need <see cref="Capabilities.Time"/>. A missing capability throws
/// <see cref="CapabilityException"/> at the call. Branches run with the caller's capabilities (never more).</para>
/// <para>Outcomes aggregate by the lattice <c>Ok &lt; Err &lt; Cancelled &lt; Panicked</c>. When the caller itself is
/// cancelled while the combinator runs, the branches are cancelled with it and drained, and the result is
/// <c>Cancelled</c> with the caller's own reason (or Panicked if a branch panicked while draining).</para>
/// </remarks>
public static partial class Combinators
{
    private static readonly RegionOptions s_collectAll = new() { Policy = RegionPolicy.CollectAll };

    /// <summary>Runs <paramref name="body"/> as the main task of a CollectAll child region and returns what it computed.</summary>
    private static async Task<Outcome<TResult>> InRegionAsync<TResult>(Cx cx, string name, Func<Cx, Task<Outcome<TResult>>> body)
    {
        ArgumentNullException.ThrowIfNull(cx);
        // A caller that is already draining (cleanup code) still gets a working combinator: the kernel bounds the
        // region by the caller's cleanup deadline.
        Outcome<TResult> result = default;
        bool computed = false;
        var region = await cx.RegionAsync(name, async rcx =>
        {
            result = await body(rcx);
            computed = true;
        }, s_collectAll);
        if (computed) return result;
        // The combinator did not finish: the caller was cancelled (its region propagated the cancel) or the
        // combinator's own task failed. Report the caller's reason, and never hide a panic.
        var outside = cx.CancelReason;
        if (region.IsPanicked || outside is null)
            return region.IsOk ? Outcome<TResult>.Cancelled(new CancelReason(CancelKind.ParentCancelled, name + " was interrupted")) : Outcome<TResult>.FromNonOk(region.Kind, region.Payload);
        return Outcome<TResult>.Cancelled(outside);
    }

    private static IReadOnlyList<Func<Cx, Task<T>>> Check<T>(IReadOnlyList<Func<Cx, Task<T>>> branches)
    {
        ArgumentNullException.ThrowIfNull(branches);
        if (branches.Count == 0) throw new ArgumentException("At least one branch is required.", nameof(branches));
        return branches;
    }

    private static CancelReason Lost(Cx rcx, string name, int winner) =>
        new(CancelKind.RaceLost, $"{name}: branch {winner} finished first", rcx.Task.Runtime.Now, rcx.RegionId, rcx.TaskId);
}
