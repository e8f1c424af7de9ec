namespace Asupersync.Tests;

/// <summary>
/// No capability bypass through the library: a combinator that reads the clock or arms a timer needs Time, one
/// that spawns needs Spawn — checked at the call on the caller's Cx, refused with a clear
/// <see cref="CapabilityException"/> — and a finalizer gets the capabilities of the Cx that registered it.
/// </summary>
public class CapabilityBypassTests
{
    private static Task<int> One(Cx cx) => Task.FromResult(1);

    [Fact]
    public async Task TimedCombinators_NeedTime_AtTheCall()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var spawnOnly = cx.Narrow(Capabilities.Spawn);
            var missing = new List<Capabilities>();
            foreach (var call in new Func<Task>[]
            {
                () => spawnOnly.TimeoutAsync(TimeSpan.FromSeconds(1), One),
                () => spawnOnly.HedgeAsync(TimeSpan.FromSeconds(1), One, One),
                () => spawnOnly.RetryAsync(One),
            })
            {
                var e = await Assert.ThrowsAsync<CapabilityException>(call);
                missing.Add(e.Missing);
            }
            return missing;
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal([Capabilities.Time, Capabilities.Time, Capabilities.Time], o.Value);
    }

    [Fact]
    public async Task Combinators_NeedSpawn_AtTheCall()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var timeOnly = cx.Narrow(Capabilities.Time);
            var missing = new List<Capabilities>();
            foreach (var call in new Func<Task>[]
            {
                () => timeOnly.TimeoutAsync(TimeSpan.FromSeconds(1), One),
                () => timeOnly.RaceAsync(One, One),
                () => timeOnly.JoinAsync(One, One),
                () => timeOnly.QuorumAsync(1, [One, One]),
                () => timeOnly.RetryAsync(One),
            })
            {
                var e = await Assert.ThrowsAsync<CapabilityException>(call);
                missing.Add(e.Missing);
            }
            return missing;
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.All(o.Value, m => Assert.Equal(Capabilities.Spawn, m));
    }

    [Fact]
    public async Task CapabilityException_NamesOnlyWhatIsMissing()
    {
        var o = await TestRuntime.RunAsync(cx =>
        {
            var e = Assert.Throws<CapabilityException>(() => cx.Narrow(Capabilities.None).Require(Capabilities.Time | Capabilities.Spawn));
            var f = Assert.Throws<CapabilityException>(() => cx.Narrow(Capabilities.Spawn).Require(Capabilities.Time | Capabilities.Spawn));
            return Task.FromResult((e.Missing, f.Missing, f.Message.Contains("Time", StringComparison.Ordinal)));
        });
        Assert.Equal((Capabilities.Time | Capabilities.Spawn, Capabilities.Time, true), o.Value);
    }

    [Fact]
    public async Task Finalizer_GetsTheRegisteringCxsCapabilities_NeverAll()
    {
        Capabilities seen = Capabilities.All;
        Exception? sleepError = null;
        var o = await TestRuntime.RunAsync(async cx =>
        {
            return await cx.RegionAsync("r", cx =>
            {
                cx.Narrow(Capabilities.Spawn).Defer(async fcx =>
                {
                    seen = fcx.Capabilities;
                    try { await fcx.SleepAsync(TimeSpan.FromMilliseconds(1)); }
                    catch (CapabilityException e) { sleepError = e; }
                });
                return Task.CompletedTask;
            });
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(Capabilities.Spawn, seen);
        Assert.IsType<CapabilityException>(sleepError);
    }

    [Fact]
    public async Task TimedCombinators_StillWork_WithTheirCapabilities()
    {
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var timed = cx.Narrow(Capabilities.Spawn | Capabilities.Time);
            var t = await timed.TimeoutAsync(TimeSpan.FromSeconds(30), One);
            var h = await timed.HedgeAsync(TimeSpan.FromSeconds(30), One, One);
            var r = await timed.RetryAsync(One);
            return t.Value + h.Value + r.Value;
        });
        Assert.Equal(3, o.Value);
    }
}
