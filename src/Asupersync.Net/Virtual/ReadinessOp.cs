using Asupersync.Kernel;

namespace Asupersync.Net.Virtual;

/// <summary>
/// A cancel-safe readiness wait of the virtual network: completes when the thing waited for may have happened
/// (data arrived, space freed, a connection queued). The waiter re-checks under the owner's lock after it
/// resumes, so an interrupted wait consumes nothing; on interrupt it leaves its slot.
/// </summary>
internal sealed class ReadinessOp : WaitOp<Unit>
{
    private readonly Action<ReadinessOp> _leave;

    internal ReadinessOp(TaskCore waiter, Action<ReadinessOp> leave) : base(waiter) => _leave = leave;

    protected override void OnInterrupted() => _leave(this);
}
