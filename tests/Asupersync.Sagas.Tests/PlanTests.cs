namespace Asupersync.Sagas.Tests;

public class PlanTests
{
    private static readonly Func<Cx, SagaStepContext, Task> Nop = (_, _) => Task.CompletedTask;

    [Fact]
    public void Classification_SevenMonotoneKinds_NineNonMonotone()
    {
        Assert.Equal(16, SagaOpKinds.All.Count);
        var monotone = SagaOpKinds.All.Where(k => k.IsMonotone()).ToHashSet();
        Assert.Equal(new HashSet<SagaOpKind>
        {
            SagaOpKind.Reserve, SagaOpKind.Send, SagaOpKind.Acquire, SagaOpKind.Renew, SagaOpKind.Delegate, SagaOpKind.CrdtMerge, SagaOpKind.CancelRequest,
        }, monotone);
        var non = SagaOpKinds.All.Where(k => !k.IsMonotone()).ToHashSet();
        Assert.Equal(new HashSet<SagaOpKind>
        {
            SagaOpKind.Commit, SagaOpKind.Abort, SagaOpKind.Recv, SagaOpKind.Release, SagaOpKind.RegionClose, SagaOpKind.CancelDrain,
            SagaOpKind.MarkLeaked, SagaOpKind.BudgetCheck, SagaOpKind.LeakDetection,
        }, non);
        Assert.Throws<ArgumentOutOfRangeException>(() => ((SagaOpKind)99).IsMonotone());
    }

    [Fact]
    public void CalmPlan_BatchesMonotoneRuns_BarrierBeforeEachNonMonotoneStep()
    {
        var kinds = new[] { SagaOpKind.Reserve, SagaOpKind.Send, SagaOpKind.Commit, SagaOpKind.Acquire, SagaOpKind.Renew, SagaOpKind.CrdtMerge, SagaOpKind.Release, SagaOpKind.Abort, SagaOpKind.Delegate };
        var saga = new Saga("mixed");
        for (int i = 0; i < kinds.Length; i++) saga.Step("s" + i, Nop, Nop, kinds[i]);
        var plan = saga.Plan();
        Assert.Equal([[0, 1], [2], [3, 4, 5], [6], [7], [8]], plan.Stages.Select(s => s.Steps.ToArray()).ToArray());
        Assert.Equal([true, false, true, false, false, false], plan.Stages.Select(s => s.Concurrent).ToArray());
        Assert.Equal([false, true, false, true, true, false], plan.Stages.Select(s => s.Barrier).ToArray());
        Assert.Equal(3, plan.BarrierCount);
    }

    [Fact]
    public void SequentialPlan_OneStepPerStage()
    {
        var saga = new Saga("seq");
        for (int i = 0; i < 4; i++) saga.Step("s" + i, Nop, Nop, SagaOpKind.Send);
        var plan = saga.Plan(SagaPlanning.Sequential);
        Assert.Equal(4, plan.Stages.Count);
        Assert.All(plan.Stages, s => Assert.False(s.Concurrent));
        Assert.Single(saga.Plan().Stages); // the CALM plan runs all four together
    }

    [Fact]
    public void Explain_NamesStagesKindsAndBarriers()
    {
        var saga = new Saga("order")
            .Step("reserve stock", Nop, Nop, SagaOpKind.Reserve)
            .Step("send email", Nop, null, SagaOpKind.Send)
            .Step("charge card", Nop, Nop, SagaOpKind.Commit);
        var text = saga.Explain();
        Assert.Contains("saga 'order': 3 steps in 2 stages", text, StringComparison.Ordinal);
        Assert.Contains("2 steps concurrently, no barrier between them", text, StringComparison.Ordinal);
        Assert.Contains("barrier: steps 0..1 complete and durable (Commit is non-monotone)", text, StringComparison.Ordinal);
        Assert.Contains("[2] charge card", text, StringComparison.Ordinal);
        Assert.Contains("(no compensation)", text, StringComparison.Ordinal);
        Assert.Contains("LIFO", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Definition_RejectsDuplicatesAndChangesAfterFreezing()
    {
        var saga = new Saga("s").Step("a", Nop, Nop);
        Assert.Throws<ArgumentException>(() => saga.Step("a", Nop, Nop));
        Assert.Throws<ArgumentOutOfRangeException>(() => saga.Step("b", Nop, Nop, (SagaOpKind)42));
        _ = saga.Plan();
        Assert.Throws<InvalidOperationException>(() => saga.Step("b", Nop, Nop));
        Assert.Throws<ArgumentException>(() => new Saga(" "));
        Assert.Throws<ArgumentException>(() => new SagaRegistry(saga, new Saga("s")));
    }
}
