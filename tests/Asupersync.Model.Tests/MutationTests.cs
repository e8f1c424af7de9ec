using Asupersync.Kernel;
using Asupersync.Lab;

namespace Asupersync.Model.Tests;

/// <summary>
/// The mutation check: each planted kernel bug (<see cref="KernelFault"/>) is caught by the refinement oracle in every
/// run of a bounded seed sweep, and the same program without the fault passes it. This is what shows the oracle has teeth.
/// </summary>
public class MutationTests
{
    private const int Seeds = 12;

    /// <summary>Exercises every faulted path whatever the schedule: a lingering task, a drain that awaits, a forgotten obligation, two finalizers, a weaker second cancel.</summary>
    private static async Task Program(Cx cx)
    {
        await cx.RegionAsync("lingering", async cx =>
        {
            _ = cx.Spawn("quick", async cx => await cx.YieldAsync());
            _ = cx.Spawn("slow", async cx => await cx.SleepAsync(TimeSpan.FromSeconds(1)));
            await cx.YieldAsync();
        });
        await cx.RegionAsync("finalized", async cx =>
        {
            cx.Defer(() => { }, "first");
            cx.Defer(() => { }, "second");
            await cx.YieldAsync();
        });
        await cx.RegionAsync("cancels", async cx =>
        {
            var drainer = cx.Spawn("drainer", async cx =>
            {
                try { await cx.SleepAsync(TimeSpan.FromMinutes(5)); }
                finally
                {
                    await cx.SleepAsync(TimeSpan.FromMilliseconds(10));
                    await cx.YieldAsync();
                }
            });
            // Virtual time moves only when no task is ready, so the drainer is inside its sleep (started, not
            // cancelled before start, which would skip its body and the drain the RaiseTwice fault needs).
            await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
            drainer.Cancel(new CancelReason(CancelKind.Shutdown, "strong first"));
            drainer.Cancel(new CancelReason(CancelKind.User, "weaker second"));
            await drainer.JoinAsync(cx);
        });
        _ = await cx.RegionAsync("forgetful", async cx =>
        {
            var t = cx.Spawn("forgets", async cx =>
            {
                _ = cx.Reserve(ObligationKind.IoOp, "never resolved");
                await cx.YieldAsync();
            });
            await t.JoinAsync(cx);
        }, new RegionOptions { Policy = RegionPolicy.CollectAll });
    }

    private static LabOptions With(KernelFault fault) => new()
    {
        CheckRefinement = true,
        Runtime = new RuntimeOptions { PrintDiagnostics = false, Fault = fault },
        MaxSteps = 10_000,
    };

    [Fact]
    public void WithoutAFault_TheProgramIsAStepOfTheModel()
    {
        for (ulong seed = 0; seed < Seeds; seed++)
        {
            var r = LabRuntime.Run(seed, Program, With(KernelFault.None));
            // The forgotten obligation is a real leak (the ObligationLeak oracle reports it); the kernel handles it as the model says.
            Assert.DoesNotContain(r.OracleFailures, f => f.Oracle == LabOracles.Refinement);
            Assert.Contains(r.OracleFailures, f => f.Oracle == LabOracles.ObligationLeak);
        }
    }

    [Theory]
    [InlineData(nameof(KernelFault.CloseWithLiveTask), "RegionFinalize")]
    [InlineData(nameof(KernelFault.RaiseTwice), "rule BudgetOverrun")]
    [InlineData(nameof(KernelFault.DropObligationSilently), "Reserved obligation")]
    [InlineData(nameof(KernelFault.SkipFinalizer), "finalizer")]
    [InlineData(nameof(KernelFault.WeakenReason), "CancelStrengthen")]
    public void EachPlantedKernelBug_IsCaughtByTheRefinementOracle_InEverySeed(string faultName, string expected)
    {
        var fault = Enum.Parse<KernelFault>(faultName); // KernelFault is internal: xunit data travels as its name
        for (ulong seed = 0; seed < Seeds; seed++)
        {
            LabRunResult r;
            try
            {
                r = LabRuntime.Run(seed, Program, With(fault));
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}: the faulted kernel crashed the Lab instead of failing the run: {ex}");
                return;
            }
            var f = r.OracleFailures.FirstOrDefault(x => x.Oracle == LabOracles.Refinement);
            Assert.True(f is not null, $"seed {seed}: fault {fault} was not caught by the refinement oracle. {r.Describe()}");
            Assert.Contains(expected, f.Message, StringComparison.Ordinal);
        }
    }
}
