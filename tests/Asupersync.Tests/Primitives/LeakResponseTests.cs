using Asupersync.Lab;
using Asupersync.Tests.Sync;

namespace Asupersync.Tests.Primitives;

/// <summary>Leak responses (Fail, Record, Log, Silent, Panic), per runtime and per region.</summary>
public class LeakResponseTests
{
    /// <summary>Runs a child region (with <paramref name="regionResponse"/>) whose body leaks one obligation, next to a sibling that waits.</summary>
    private static async Task<(Outcome<Unit> Region, Outcome<Unit> Sibling, bool Released, Runtime Rt)> LeakOnce(LeakResponse runtimeResponse, LeakResponse? regionResponse)
    {
        var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false, LeakResponse = runtimeResponse });
        bool released = false;
        TaskHandle<Unit>? s = null;
        var o = await rt.RunAsync(async cx =>
        {
            return await cx.RegionAsync("leaky", async cx =>
            {
                s = cx.Spawn("sibling", Rt.Forever);
                var leaker = cx.Spawn("leaker", cx =>
                {
                    cx.Reserve(ObligationKind.Custom, "slot 3", onCommit: null, onAbort: _ => released = true);
                    return Task.CompletedTask;
                });
                await leaker.JoinAsync(cx); // when the leak fails the region, fail-fast cancels this body and the sibling
                var effective = regionResponse ?? runtimeResponse;
                if (effective is not (LeakResponse.Fail or LeakResponse.Panic)) s.Cancel();
                await s.JoinAsync(cx);
            }, new RegionOptions { LeakResponse = regionResponse });
        }).WaitAsync(Rt.HangGuard);
        Assert.True(o.IsOk, o.ToString());
        Assert.True(s!.TryGetOutcome(out var sibling)); // the region closed: its tasks all ended
        return (o.Value, sibling, released, rt);
    }

    [Fact]
    public async Task Fail_MakesTheRegionErr_AndReports()
    {
        var (region, _, released, rt) = await LeakOnce(LeakResponse.Fail, null);
        await using (rt)
        {
            Assert.True(region.IsErr);
            Assert.IsType<ObligationLeakedException>(region.Error);
            Assert.True(released);
            Assert.Equal(1, rt.Diagnostics.ObligationsLeaked);
            Assert.Single(rt.Diagnostics.Recent, d => d.Kind == DiagnosticKind.ObligationLeak);
        }
    }

    [Theory]
    [InlineData(LeakResponse.Record)]
    [InlineData(LeakResponse.Log)]
    public async Task RecordAndLog_ReportWithoutChangingTheOutcome(LeakResponse mode)
    {
        var (region, sibling, released, rt) = await LeakOnce(LeakResponse.Fail, mode); // the region overrides the runtime
        await using (rt)
        {
            Assert.True(region.IsOk, region.ToString());
            Assert.True(sibling.IsCancelled); // cancelled by the body, not by fail-fast
            Assert.True(released);
            Assert.Equal(1, rt.Diagnostics.ObligationsLeaked);
            var leak = Assert.Single(rt.Diagnostics.Recent, d => d.Kind == DiagnosticKind.ObligationLeak);
            Assert.Contains("slot 3", leak.Message);
            Assert.Equal("leaker", leak.TaskName);
        }
    }

    [Fact]
    public async Task Silent_OnlyCounts_AndStillReleases()
    {
        var (region, _, released, rt) = await LeakOnce(LeakResponse.Silent, null);
        await using (rt)
        {
            Assert.True(region.IsOk, region.ToString());
            Assert.True(released);
            Assert.Equal(1, rt.Diagnostics.ObligationsLeaked);
            Assert.DoesNotContain(rt.Diagnostics.Recent, d => d.Kind == DiagnosticKind.ObligationLeak);
        }
    }

    [Fact]
    public async Task Panic_PanicsTheHolder_AndFailFastCancelsItsSiblings()
    {
        var (region, sibling, released, rt) = await LeakOnce(LeakResponse.Record, LeakResponse.Panic);
        await using (rt)
        {
            Assert.True(region.IsPanicked, region.ToString());
            Assert.IsType<ObligationLeakedException>(region.Exception);
            Assert.Equal(CancelKind.FailFast, sibling.CancelReason?.Kind);
            Assert.True(released);
            Assert.Single(rt.Diagnostics.Recent, d => d.Kind == DiagnosticKind.ObligationLeak);
        }
    }

    [Fact]
    public async Task ChildRegions_InheritTheResponse_UnlessTheySetTheirOwn()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false, LeakResponse = LeakResponse.Fail });
        var o = await rt.RunAsync(async cx =>
        {
            static Task Leak(Cx cx)
            {
                cx.Reserve(ObligationKind.Custom, "x", null, null);
                return Task.CompletedTask;
            }
            Outcome<Unit> inherited = default, own = default;
            var outer = await cx.RegionAsync("silent", async cx =>
            {
                inherited = await cx.RegionAsync("child", Leak);
                own = await cx.RegionAsync("strict", Leak, new RegionOptions { LeakResponse = LeakResponse.Fail });
            }, new RegionOptions { LeakResponse = LeakResponse.Silent });
            return (inherited.Kind, own.Kind, outer.Kind);
        }).WaitAsync(Rt.HangGuard);
        Assert.Equal((OutcomeKind.Ok, OutcomeKind.Err, OutcomeKind.Ok), o.Value);
        Assert.Equal(2, rt.Diagnostics.ObligationsLeaked);
    }

    [Fact]
    public void Lab_ObligationLeakOracle_SeesALeakWhateverTheResponse()
    {
        // A Lab verdict never depends on how production is told to react: Silent still fails the run.
        var e = Assert.Throws<LabFailureException>(() => LabTest.ForSeeds(1, async cx =>
        {
            await cx.RegionAsync("quiet", cx =>
            {
                cx.Reserve(ObligationKind.Custom, "forgotten", null, null);
                return Task.CompletedTask;
            }, new RegionOptions { LeakResponse = LeakResponse.Silent });
        }));
        Assert.Contains("ObligationLeak", e.Message);
    }
}
