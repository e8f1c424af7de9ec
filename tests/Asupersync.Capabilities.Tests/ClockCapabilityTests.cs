using Asupersync.Lab;

namespace Asupersync.Macaroons.Tests;

/// <summary>
/// <see cref="CaveatContext.For"/> hands out the runtime clock, so it needs the Time capability: a Cx narrowed away
/// from Time cannot read the clock through it (issue 9, item 4: no capability bypass through the library).
/// </summary>
public class ClockCapabilityTests
{
    [Fact]
    public async Task CaveatContextFor_NeedsTime()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var o = await rt.RunAsync(cx =>
        {
            var e = Assert.Throws<CapabilityException>(() => CaveatContext.For(cx.Narrow(Capabilities.IO | Capabilities.Spawn)));
            var withTime = CaveatContext.For(cx.Narrow(Capabilities.Time));
            return Task.FromResult((e.Missing, withTime.Now is not null));
        }).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal((Capabilities.Time, true), o.Value);
    }

    [Fact]
    public void Lab_CaveatContextFor_WithoutTime_IsAnAmbientAuthorityFinding()
    {
        var r = LabRuntime.Run(1, cx =>
        {
            Assert.Throws<CapabilityException>(() => CaveatContext.For(cx.Narrow(Capabilities.None)));
            return Task.CompletedTask;
        });
        var f = Assert.Single(r.OracleFailures);
        Assert.Equal(LabOracles.AmbientAuthority, f.Oracle);
        Assert.Contains("Time capability", f.Message);
    }
}
