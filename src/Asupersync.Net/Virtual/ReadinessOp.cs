using Asupersync.Kernel;
using Asupersync.Time;

namespace Asupersync.Net.Virtual;

/// <summary>
/// A cancel-safe readiness wait of the virtual network: completes when the thing waited for may have happened
/// (data arrived, space freed, a connection queued). The waiter re-checks under the owner's lock after it
/// resumes, so an interrupted wait consumes nothing; on interrupt it leaves its slot.
/// </summary>
internal sealed class ReadinessOp : WaitOp<Unit>
{
    private readonly Action<ReadinessOp> _leave;

    private TimerEntry? _timer;

    internal ReadinessOp(TaskCore waiter, Action<ReadinessOp> leave) : base(waiter) => _leave = leave;

    /// <summary>Completes the wait (the awaited thing may have happened) and drops its expiry timer.</summary>
    internal void Wake()
    {
        _timer?.Cancel();
        TrySetResult(default);
    }

    /// <summary>Ends the wait with <see cref="TimeoutException"/> at <paramref name="deadline"/>, leaving its slot.</summary>
    internal void ExpireAt(TimeSpan deadline)
    {
        if (IsDone) return;
        _timer = Waiter.Runtime.AddTimer(deadline, static s =>
        {
            var op = (ReadinessOp)s!;
            if (op.TrySetException(new TimeoutException("The network operation did not complete within its budget."))) op._leave(op);
        }, this);
        if (IsDone) _timer.Cancel();
    }

    protected override void OnInterrupted()
    {
        _timer?.Cancel();
        _leave(this);
    }
}
