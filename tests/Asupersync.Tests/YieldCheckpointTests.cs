using Asupersync.Lab;

namespace Asupersync.Tests;

/// <summary>
/// <c>cx.YieldAsync()</c> is a checkpoint on entry and on resumption: a cancel that lands while the task is
/// yielded is raised when it runs again (unless masked), as after every other runtime await.
/// </summary>
public class YieldCheckpointTests
{
    /// <summary>
    /// The yielder flags, in the step that yields, that it is about to yield; the root cancels it the first time
    /// it sees the flag. Returns whether the cancel landed while it was yielded, and what the yielder saw.
    /// </summary>
    private static async Task<(bool LandedWhileYielded, string Seen, OutcomeKind Kind)> Program(Cx cx, bool masked)
    {
        bool yielding = false, resumed = false;
        string seen = "";
        var h = cx.Spawn("yielder", async cx =>
        {
            using var mask = masked ? cx.Mask() : default;
            yielding = true;
            try
            {
                await cx.YieldAsync();
                resumed = true;
                seen = cx.IsCancelRequested ? "resumed with the cancel unraised" : "resumed";
            }
            catch (CancelledException)
            {
                resumed = true;
                seen = "raised on resumption";
                throw;
            }
        });
        while (!yielding) await cx.YieldAsync();
        bool landed = !resumed;
        h.Cancel();
        var o = await h.JoinAsync(cx);
        return (landed, seen, o.Kind);
    }

    [Fact]
    public void Lab_CancelLandingWhileYielded_IsRaisedOnResumption()
    {
        int landed = 0;
        for (ulong seed = 0; seed < 40; seed++)
        {
            (bool, string, OutcomeKind) result = default;
            var r = LabRuntime.Run(seed, async cx => result = await Program(cx, masked: false));
            Assert.True(r.Passed, r.Describe());
            var (whileYielded, seen, kind) = result;
            // A cancel after completion is a no-op; one that lands after the body resumed but before the task
            // completed (the completion is a choice point, as production can cancel there) settles it Cancelled.
            if (whileYielded) Assert.Equal(OutcomeKind.Cancelled, kind);
            else Assert.True(kind is OutcomeKind.Ok or OutcomeKind.Cancelled, kind.ToString());
            if (whileYielded)
            {
                landed++;
                Assert.Equal("raised on resumption", seen);
            }
        }
        Assert.True(landed > 0, "no seed landed the cancel inside the yield");
    }

    [Fact]
    public void Lab_MaskedYield_ResumesWithoutRaising()
    {
        int landed = 0;
        for (ulong seed = 0; seed < 40; seed++)
        {
            (bool, string, OutcomeKind) result = default;
            var r = LabRuntime.Run(seed, async cx => result = await Program(cx, masked: true));
            Assert.True(r.Passed, r.Describe());
            var (whileYielded, seen, kind) = result;
            // A masked cancel still completes Cancelled; one after the body resumed may land before or after completion.
            if (whileYielded) Assert.Equal(OutcomeKind.Cancelled, kind);
            else Assert.True(kind is OutcomeKind.Ok or OutcomeKind.Cancelled, kind.ToString());
            if (whileYielded)
            {
                landed++;
                Assert.Equal("resumed with the cancel unraised", seen);
            }
        }
        Assert.True(landed > 0, "no seed landed the cancel inside the yield");
    }

    [Fact]
    public async Task Production_CancelLandingWhileYielded_IsRaisedOnResumption()
    {
        // One worker: the yielder is queued behind the root when the root cancels it, so the cancel lands inside
        // the yield every time.
        var o = await TestRuntime.RunAsync(cx => Program(cx, masked: false), new RuntimeOptions { WorkerCount = 1 });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal((true, "raised on resumption", OutcomeKind.Cancelled), o.Value);
    }
}
