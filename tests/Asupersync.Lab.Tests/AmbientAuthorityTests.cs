using Asupersync.Net;

namespace Asupersync.Lab.Tests;

/// <summary>
/// The Lab's AmbientAuthority oracle reports every attempt to get an effect through the library without its
/// capability — timed combinators, a finalizer of a narrowed Cx, TCP read deadlines and connect timeouts — even
/// when the program catches the refusal.
/// </summary>
public class AmbientAuthorityTests
{
    private static readonly LabOptions WithNetwork = new()
    {
        ConfigureRuntime = rt => VirtualNetwork.Install(rt, new VirtualNetworkOptions { MinLatency = TimeSpan.FromMilliseconds(1), MaxLatency = TimeSpan.FromMilliseconds(2) }),
    };

    private static Task<int> One(Cx cx) => Task.FromResult(1);

    /// <summary>Runs <paramref name="attempt"/> on a Cx narrowed to <paramref name="keep"/> and expects it refused.</summary>
    private static LabRunResult Refused(Capabilities keep, Func<Cx, Task> attempt, LabOptions? options = null) =>
        LabRuntime.Run(7, async cx =>
        {
            var narrow = cx.Narrow(keep);
            await Assert.ThrowsAsync<CapabilityException>(() => attempt(narrow)); // the program copes; the oracle still reports
        }, options);

    [Theory]
    [InlineData("timeout")]
    [InlineData("hedge")]
    [InlineData("retry")]
    public void TimedCombinator_WithoutTime_IsReported(string which)
    {
        var r = Refused(Capabilities.Spawn, cx => which switch
        {
            "timeout" => cx.TimeoutAsync(TimeSpan.FromSeconds(1), One),
            "hedge" => cx.HedgeAsync(TimeSpan.FromSeconds(1), One, One),
            _ => cx.RetryAsync(One),
        });
        var f = Assert.Single(r.OracleFailures);
        Assert.Equal(LabOracles.AmbientAuthority, f.Oracle);
        Assert.Contains("Time capability", f.Message);
        Assert.Contains("'root'", f.Message);
    }

    [Fact]
    public void Finalizer_OfANarrowedCx_CannotSleep_AndIsReported()
    {
        bool refused = false;
        var r = LabRuntime.Run(3, async cx =>
        {
            await cx.RegionAsync("r", cx =>
            {
                cx.Narrow(Capabilities.None).Defer(async fcx =>
                {
                    try { await fcx.SleepAsync(TimeSpan.FromSeconds(1)); }
                    catch (CapabilityException) { refused = true; }
                }, name: "narrow-finalizer");
                return Task.CompletedTask;
            });
        });
        Assert.True(refused);
        var f = Assert.Single(r.OracleFailures);
        Assert.Equal(LabOracles.AmbientAuthority, f.Oracle);
        Assert.Contains("'narrow-finalizer'", f.Message);
    }

    [Fact]
    public void TcpReadDeadline_WithoutTime_IsReported_AndTheReadWithoutOneWorks()
    {
        string? echoed = null;
        var r = LabRuntime.Run(11, async cx =>
        {
            await using var listener = await cx.TcpBindAsync("127.0.0.1:7100");
            var server = cx.Spawn("server", async cx =>
            {
                var (s, _) = await listener.AcceptAsync(cx);
                await using (s) await s.WriteAsync(cx, "hi"u8.ToArray());
            });
            await using var c = await cx.TcpConnectAsync("127.0.0.1:7100");
            var ioOnly = cx.Narrow(Capabilities.IO);
            var buf = new byte[8];
            await Assert.ThrowsAsync<CapabilityException>(async () => await c.ReadAsync(ioOnly, buf, Budget.Timeout(TimeSpan.FromSeconds(1))));
            int total = 0;
            while (total < 2)
            {
                int n = await c.ReadAsync(ioOnly, buf.AsMemory(total)); // no deadline: IO is enough
                if (n == 0) break;
                total += n;
            }
            echoed = System.Text.Encoding.ASCII.GetString(buf, 0, total);
            await server.JoinAsync(cx);
        }, WithNetwork);
        Assert.Equal("hi", echoed);
        var f = Assert.Single(r.OracleFailures);
        Assert.Equal(LabOracles.AmbientAuthority, f.Oracle);
        Assert.Contains("Time capability", f.Message);
    }

    [Fact]
    public void TcpConnectTimeout_WithoutTime_IsReported()
    {
        var r = Refused(Capabilities.IO, async cx => await cx.TcpConnectAsync("127.0.0.1:7200", TimeSpan.FromSeconds(1)), WithNetwork);
        var f = Assert.Single(r.OracleFailures);
        Assert.Equal(LabOracles.AmbientAuthority, f.Oracle);
        Assert.Contains("Time capability", f.Message);
    }

    [Fact]
    public void CorrectlyNarrowedCx_UsingTimedCombinators_IsSilent()
    {
        var r = LabRuntime.Run(5, async cx =>
        {
            var timed = cx.Narrow(Capabilities.Spawn | Capabilities.Time);
            var o = await timed.TimeoutAsync(TimeSpan.FromSeconds(1), async cx => { await cx.SleepAsync(TimeSpan.FromSeconds(5)); return 1; });
            Assert.True(o.IsTimedOut());
            await timed.HedgeAsync(TimeSpan.FromMilliseconds(10), One, One);
        });
        Assert.True(r.Passed, r.Describe());
    }
}
