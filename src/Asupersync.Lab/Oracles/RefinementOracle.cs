using Asupersync.Model;

namespace Asupersync.Lab;

/// <summary>
/// The refinement oracle: replays the run's kernel events, in order, through the executable reference model
/// (<see cref="ReferenceModel"/>). Every event must be a rule enabled in the model's state and lead to the state
/// the kernel reports; the first one that is not fails the run with the event, the rule it was matched against
/// and the model's records of the objects involved. After a divergence the model is no longer a faithful
/// picture of the run, so the oracle reports only the first one.
/// </summary>
internal sealed class RefinementOracle(ModelOptions options) : LabOracle
{
    private readonly ReferenceModel _model = new(options);
    private bool _diverged;

    public override string Name => LabOracles.Refinement;

    /// <summary>The model the oracle drives (for tests).</summary>
    internal ReferenceModel Model => _model;

    public override void OnEvent(in LabEvent e, LabOracleContext context)
    {
        if (_diverged) return;
        var d = _model.Clock(e.Time.Ticks) ?? Apply(e);
        if (d is null) return;
        _diverged = true;
        long[] objects = e.TaskId != 0 && e.ObjectId != 0 ? [e.TaskId, e.ObjectId] : e.TaskId != 0 ? [e.TaskId] : e.ObjectId != 0 ? [e.ObjectId] : [];
        context.Report(this, $"event {e} is not a step of the model: rule {d.Rule}: {d.Message} [model: {d.State}]", objects);
    }

    public override void OnRunEnd(LabOracleContext context)
    {
        if (_diverged) return;
        // A run stopped early (deadlock, step limit, foreign thread) ended mid-protocol: only the last step's
        // propagation is checked, not quiescence.
        var d = _model.End(context.RootClosed && !context.Stopped);
        if (d is not null) context.Report(this, $"at the end of the run: rule {d.Rule}: {d.Message} [model: {d.State}]");
    }

    private Divergence? Apply(in LabEvent e) => e.Kind switch
    {
        LabEventKind.Step => _model.Step(e.TaskId),
        LabEventKind.TimerFired => _model.Tick(e.Aux),
        LabEventKind.Spawned => _model.Spawn(e.TaskId, e.ObjectId, e.Aux == 1, Lattice.Deadline(e.Extra)),
        LabEventKind.CancelRequested => _model.RequestCancel(e.TaskId, (int)e.Aux, Lattice.Deadline(e.Extra), e.ObjectId != 0),
        LabEventKind.CancelAcknowledged => _model.Acknowledge(e.TaskId, (int)e.Aux, e.Code == (int)CancelKind.Deadline),
        LabEventKind.BudgetOverrun => _model.Overrun(e.TaskId),
        LabEventKind.Completed => _model.Complete(e.TaskId, ToLevel(e.Code)),
        LabEventKind.Wait => _model.Wait(e.TaskId, e.Text ?? "", e.ObjectId),
        LabEventKind.WaitInterrupted => _model.WaitInterrupted(e.TaskId),
        LabEventKind.RegionOpened => _model.OpenRegion(e.ObjectId, e.Aux, e.TaskId, Lattice.Deadline(e.Extra)),
        LabEventKind.RegionState => _model.RegionState(e.ObjectId, ToPhase(e.Code), e.Code == (int)RegionState.Closed ? ToLevel((int)e.Extra) : Level.Ok),
        LabEventKind.FinalizerRegistered => _model.RegisterFinalizer(e.ObjectId),
        LabEventKind.FinalizerRun => _model.RunFinalizer(e.ObjectId, e.Code),
        LabEventKind.Obligation => _model.Obligation(e.ObjectId, e.TaskId, e.Aux, ToObligation(e.Code)),
        LabEventKind.ChaosCancel => _model.ChaosCancel(e.TaskId),
        LabEventKind.MaskEntered => _model.EnterMask(e.TaskId),
        LabEventKind.MaskExited => _model.ExitMask(e.TaskId),
        // Not protocol events: time jumps (checked by Clock), chaos delays, capability and primitive findings,
        // user variables and other oracles' failures.
        _ => null,
    };

    // The model has its own enums (it shares no code with the kernel); the kernel's map onto them by name.
    private static Level ToLevel(int code) => (OutcomeKind)code switch
    {
        OutcomeKind.Ok => Level.Ok,
        OutcomeKind.Err => Level.Err,
        OutcomeKind.Cancelled => Level.Cancelled,
        _ => Level.Panicked,
    };

    private static RegionPhase ToPhase(int code) => (RegionState)code switch
    {
        RegionState.Open => RegionPhase.Open,
        RegionState.Closing => RegionPhase.Closing,
        RegionState.Draining => RegionPhase.Draining,
        RegionState.Finalizing => RegionPhase.Finalizing,
        _ => RegionPhase.Closed,
    };

    private static ObligationPhase ToObligation(int code) => (ObligationState)code switch
    {
        ObligationState.Reserved => ObligationPhase.Reserved,
        ObligationState.Committed => ObligationPhase.Committed,
        ObligationState.Aborted => ObligationPhase.Aborted,
        _ => ObligationPhase.Leaked,
    };
}
