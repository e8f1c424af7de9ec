using Asupersync.Model;

namespace Asupersync.Model.Tests;

/// <summary>Each rule of the reference model accepts the kernel's correct behaviour and rejects the plausible wrong one, naming itself.</summary>
public class ReferenceModelTests
{
    private const long Root = 1, Body = 2, Child = 3, Sub = 4, SubBody = 5, Ob = 6, Fin = 7;

    /// <summary>A root region with its body task running.</summary>
    private static ReferenceModel Started()
    {
        var m = new ReferenceModel();
        Ok(m.OpenRegion(Root, 0, 0, Lattice.NoDeadline));
        Ok(m.Spawn(Body, Root, false, Lattice.NoDeadline));
        Ok(m.Step(Body));
        return m;
    }

    private static void Ok(Divergence? d) => Assert.True(d is null, d?.ToString());

    private static Divergence Diverges(Divergence? d, ModelRule rule)
    {
        Assert.NotNull(d);
        Assert.Equal(rule, d.Rule);
        return d;
    }

    [Fact]
    public void AWholeCorrectRun_IsAcceptedRuleByRule_AndEndsQuiescent()
    {
        var m = Started();
        Ok(m.Spawn(Child, Root, false, Lattice.NoDeadline));
        Ok(m.RegisterFinalizer(Root));
        Ok(m.Obligation(Ob, Child, Root, ObligationPhase.Reserved));
        Ok(m.Step(Child));
        Ok(m.Obligation(Ob, Child, Root, ObligationPhase.Committed));
        Ok(m.Complete(Child, Level.Ok));
        Ok(m.Step(Body));
        Ok(m.Complete(Body, Level.Ok));
        Assert.Equal(RegionPhase.Closing, m.RegionPhaseOf(Root));
        Ok(m.RegionState(Root, RegionPhase.Finalizing));
        Ok(m.Spawn(Fin, Root, true, Lattice.NoDeadline));
        Ok(m.Step(Fin));
        Ok(m.RunFinalizer(Root, 0));
        Ok(m.Complete(Fin, Level.Ok));
        Ok(m.RegionState(Root, RegionPhase.Closed, Level.Ok));
        Ok(m.End(rootClosed: true));
        Assert.Equal(ObligationPhase.Committed, m.ObligationPhaseOf(Ob));
        Assert.True(m.Applied >= 15);
    }

    // ------------------------------------------------------------------ regions

    [Fact]
    public void RegionClose_WithALiveTask_IsAnOrphan()
    {
        var m = Started();
        Ok(m.Spawn(Child, Root, false, Lattice.NoDeadline));
        Ok(m.Complete(Body, Level.Ok));
        Diverges(m.RegionState(Root, RegionPhase.Finalizing), ModelRule.RegionFinalize);
        Diverges(m.RegionState(Root, RegionPhase.Closed), ModelRule.RegionClose);
    }

    [Fact]
    public void RegionClose_WithAReservedObligation_IsRefused()
    {
        var m = Started();
        Ok(m.Obligation(Ob, Body, Root, ObligationPhase.Reserved));
        Ok(m.Obligation(Ob, Body, Root, ObligationPhase.Aborted));
        Ok(m.Complete(Body, Level.Ok));
        Ok(m.RegionState(Root, RegionPhase.Finalizing));
        Ok(m.RegionState(Root, RegionPhase.Closed));

        var n = Started();
        Ok(n.Spawn(Child, Root, false, Lattice.NoDeadline));
        Ok(n.Obligation(Ob, Child, Root, ObligationPhase.Reserved));
        // The kernel settles a holder's obligations before it completes; a holder completing with one Reserved is refused.
        Diverges(n.Complete(Child, Level.Ok), ModelRule.CompleteOk);
    }

    [Fact]
    public void RegionClose_BeforeEveryFinalizerRan_IsRefused_AndFinalizersRunLifo()
    {
        var m = Started();
        Ok(m.RegisterFinalizer(Root));
        Ok(m.RegisterFinalizer(Root));
        Ok(m.Complete(Body, Level.Ok));
        Ok(m.RegionState(Root, RegionPhase.Finalizing));
        Ok(m.Spawn(Fin, Root, true, Lattice.NoDeadline));
        Ok(m.Step(Fin));
        Diverges(m.RunFinalizer(Root, 0), ModelRule.FinalizerRun); // index 1 was registered last: it runs first
        Ok(m.RunFinalizer(Root, 1));
        Ok(m.Complete(Fin, Level.Ok));
        Diverges(m.RegionState(Root, RegionPhase.Closed), ModelRule.RegionClose);
    }

    [Fact]
    public void Admission_FollowsTheRegionState()
    {
        var m = Started();
        Ok(m.RegionState(Root, RegionPhase.Draining));
        Diverges(m.Spawn(Child, Root, false, Lattice.NoDeadline), ModelRule.Spawn);
        // Not cancelled: a draining region admits no child region from it.
        Diverges(m.OpenRegion(Sub, Root, Body, Lattice.NoDeadline), ModelRule.RegionOpenChild);
        // Its cancelled tasks' cleanup may still open one.
        Ok(m.RequestCancel(Body, 4, 100, false));
        Ok(m.OpenRegion(Sub, Root, Body, 100)); // a cleanup region: within the owner's cleanup deadline
    }

    [Fact]
    public void AClosingRegion_AdmitsOnlyItsOwnTasksSpawns()
    {
        var m = Started();
        Ok(m.Spawn(Child, Root, false, Lattice.NoDeadline));
        Ok(m.Complete(Body, Level.Ok));
        Assert.Equal(RegionPhase.Closing, m.RegionPhaseOf(Root));
        Ok(m.Step(Child));
        Ok(m.Spawn(Sub, Root, false, Lattice.NoDeadline)); // a producer of the region keeps working
        Ok(m.Tick(0)); // a step of the clock: no task of the region runs
        Diverges(m.Spawn(SubBody, Root, false, Lattice.NoDeadline), ModelRule.Spawn);
    }

    [Fact]
    public void Deadlines_AreMetWithTheParents()
    {
        var m = new ReferenceModel();
        Ok(m.OpenRegion(Root, 0, 0, 1000));
        Diverges(m.Spawn(Body, Root, false, 2000), ModelRule.DeadlineMeet);
        Ok(m.Spawn(Body, Root, false, 500));
        Ok(m.Step(Body));
        Diverges(m.OpenRegion(Sub, Root, Body, 800), ModelRule.DeadlineMeet); // later than its owner's 500
        Ok(m.OpenRegion(Sub, Root, Body, 400));
    }

    // ------------------------------------------------------------------ the cancel protocol

    [Fact]
    public void Cancel_IsRaisedOnce_ThenOnceMoreOnlyWhenTheCleanupBudgetIsSpent()
    {
        var m = Started();
        Ok(m.Clock(10));
        Ok(m.RequestCancel(Body, 0, 100, false));
        Ok(m.Acknowledge(Body, 0, false));
        Assert.Equal(TaskPhase.Cancelling, m.TaskPhaseOf(Body));
        Diverges(m.Acknowledge(Body, 0, false), ModelRule.CleanupExhaustedRaise); // raised twice
        Diverges(m.Acknowledge(Body, 1, true), ModelRule.CleanupExhaustedRaise);  // budget raise before the budget is spent
        Ok(m.Clock(100));
        Ok(m.Acknowledge(Body, 1, true));
        Diverges(m.Acknowledge(Body, 1, true), ModelRule.CleanupExhaustedRaise);
    }

    [Fact]
    public void Acknowledge_WithoutRequest_OrWithAnotherReason_IsRefused()
    {
        var m = Started();
        Diverges(m.Acknowledge(Body, 0, false), ModelRule.CancelAcknowledge);
        Ok(m.RequestCancel(Body, 3, 100, false));
        Diverges(m.Acknowledge(Body, 1, false), ModelRule.CancelAcknowledge);
    }

    [Fact]
    public void Strengthen_NeverWeakens_NorLengthensTheCleanupBudget()
    {
        var m = Started();
        Ok(m.RequestCancel(Body, 3, 500, false));
        Ok(m.RequestCancel(Body, 4, 400, false));
        Diverges(m.RequestCancel(Body, 1, 400, false), ModelRule.CancelStrengthen);
        Diverges(m.RequestCancel(Body, 4, 900, false), ModelRule.CancelStrengthen);
    }

    [Fact]
    public void AMaskedCheckpoint_DoesNotRaise_UntilTheBudgetIsSpent()
    {
        var m = Started();
        Ok(m.EnterMask(Body));
        Ok(m.RequestCancel(Body, 0, 100, false));
        Diverges(m.Acknowledge(Body, 0, false), ModelRule.MaskedCheckpoint);
        Ok(m.ExitMask(Body));
        Ok(m.Acknowledge(Body, 0, false));
    }

    [Fact]
    public void Masks_AreBounded()
    {
        var m = Started();
        for (int i = 0; i < 32; i++) Ok(m.EnterMask(Body));
        Diverges(m.EnterMask(Body), ModelRule.MaskEnter);
    }

    [Fact]
    public void ACancelledTask_CompletesCancelledOrPanicked_NeverOkOrErr()
    {
        var m = Started();
        Ok(m.Spawn(Child, Root, false, Lattice.NoDeadline));
        Ok(m.RequestCancel(Child, 0, 100, false));
        Diverges(m.Complete(Child, Level.Ok), ModelRule.CompleteOk);
        Diverges(m.Complete(Child, Level.Err), ModelRule.CompleteErr);
        Ok(m.Complete(Child, Level.Panicked));
    }

    [Fact]
    public void ACancelledRegion_MustReachEveryLiveTaskWithinTheStep()
    {
        var m = Started();
        Ok(m.Spawn(Child, Root, false, Lattice.NoDeadline));
        Ok(m.RegionState(Root, RegionPhase.Draining));
        Ok(m.RequestCancel(Body, 4, 100, false));
        Diverges(m.EndStep(), ModelRule.CancelPropagate); // Child was not cancelled

        var n = Started();
        Ok(n.OpenRegion(Sub, Root, Body, Lattice.NoDeadline));
        Ok(n.RequestCancel(Body, 0, 100, false));
        Diverges(n.Step(Body), ModelRule.CancelPropagate); // the region Body opened was not cancelled
    }

    [Fact]
    public void ARegionOpenedAfterItsOwnersCancel_IsPartOfTheCleanup_BoundedByTheCleanupDeadline()
    {
        // The kernel lets a cancelled task's cleanup open a region (RegionCore.OpenChild): not cancelled at birth,
        // but its deadline is at most the owner's cleanup deadline.
        var m = Started();
        Ok(m.RequestCancel(Body, 0, 100, false));
        Ok(m.OpenRegion(Sub, Root, Body, 100));
        Ok(m.Step(Body));
        Ok(m.EndStep());

        var n = Started();
        Ok(n.RequestCancel(Body, 0, 100, false));
        Diverges(n.OpenRegion(Sub, Root, Body, 200), ModelRule.DeadlineMeet); // outlives the owner's cleanup
    }

    [Fact]
    public void AWait_IsInterruptedOnlyByACancel_AndJoinsBlockOnlyOnLiveTasks()
    {
        var m = Started();
        Ok(m.Spawn(Child, Root, false, Lattice.NoDeadline));
        Ok(m.Wait(Body, "join", Child));
        Diverges(m.WaitInterrupted(Body), ModelRule.WaitInterrupt);
        Ok(m.Complete(Child, Level.Ok));
        Diverges(m.Wait(Body, "join", Child), ModelRule.JoinBlock);
    }

    [Fact]
    public void Overrun_IsReportedOnce_AfterTheBudgetIsSpent()
    {
        var m = Started();
        Diverges(m.Overrun(Body), ModelRule.BudgetOverrun);
        Ok(m.RequestCancel(Body, 0, 100, false));
        Diverges(m.Overrun(Body), ModelRule.BudgetOverrun);
        Ok(m.Clock(100));
        Ok(m.Overrun(Body));
        Diverges(m.Overrun(Body), ModelRule.BudgetOverrun);
    }

    // ------------------------------------------------------------------ obligations

    [Fact]
    public void Obligations_AreFinal_OnceResolved()
    {
        foreach (var final in new[] { ObligationPhase.Committed, ObligationPhase.Aborted, ObligationPhase.Leaked })
        {
            var m = Started();
            Ok(m.Obligation(Ob, Body, Root, ObligationPhase.Reserved));
            Ok(m.Obligation(Ob, Body, Root, final));
            Assert.NotNull(m.Obligation(Ob, Body, Root, ObligationPhase.Committed));
            Assert.NotNull(m.Obligation(Ob, Body, Root, ObligationPhase.Aborted));
            Assert.Equal(final, m.ObligationPhaseOf(Ob));
        }
    }

    [Fact]
    public void ALeak_FailsItsHolder_WhenLeaksFail()
    {
        var m = Started();
        Ok(m.Obligation(Ob, Body, Root, ObligationPhase.Reserved));
        Ok(m.Obligation(Ob, Body, Root, ObligationPhase.Leaked));
        Diverges(m.Complete(Body, Level.Ok), ModelRule.Leak);
        Ok(m.Complete(Body, Level.Err));

        var lenient = new ReferenceModel(new ModelOptions { LeakFails = false });
        Ok(lenient.OpenRegion(Root, 0, 0, Lattice.NoDeadline));
        Ok(lenient.Spawn(Body, Root, false, Lattice.NoDeadline));
        Ok(lenient.Obligation(Ob, Body, Root, ObligationPhase.Reserved));
        Ok(lenient.Obligation(Ob, Body, Root, ObligationPhase.Leaked));
        Ok(lenient.Complete(Body, Level.Ok));
    }

    [Fact]
    public void AFinalizingRegion_AdmitsObligationsOnlyFromItsFinalizer()
    {
        var m = Started();
        Ok(m.RegisterFinalizer(Root));
        Ok(m.Complete(Body, Level.Ok));
        Ok(m.RegionState(Root, RegionPhase.Finalizing));
        Ok(m.Spawn(Fin, Root, true, Lattice.NoDeadline));
        Ok(m.Step(Fin));
        Ok(m.Obligation(Ob, Fin, Root, ObligationPhase.Reserved));
        Diverges(m.Obligation(Ob + 100, Body, Root, ObligationPhase.Reserved), ModelRule.Reserve); // Body completed
    }

    [Fact]
    public void RegionOutcome_LiesBetweenItsFailuresAndEverythingItSaw()
    {
        var m = Started();
        Ok(m.Spawn(Child, Root, false, Lattice.NoDeadline));
        Ok(m.Complete(Child, Level.Err));
        Ok(m.Complete(Body, Level.Ok));
        Ok(m.RegionState(Root, RegionPhase.Finalizing));
        Diverges(m.RegionState(Root, RegionPhase.Closed, Level.Ok), ModelRule.RegionClose);        // hides the Err
        Diverges(m.RegionState(Root, RegionPhase.Closed, Level.Cancelled), ModelRule.RegionClose); // nobody was cancelled
        Ok(m.RegionState(Root, RegionPhase.Closed, Level.Err));
    }

    [Fact]
    public void Time_NeverGoesBack_AndTimersFireWhenDue()
    {
        var m = Started();
        Ok(m.Clock(50));
        Diverges(m.Clock(40), ModelRule.TimeAdvance);
        Diverges(m.Tick(60), ModelRule.Tick);
        Ok(m.Tick(50));
    }
}
