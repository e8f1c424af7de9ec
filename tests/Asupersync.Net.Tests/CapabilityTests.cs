namespace Asupersync.Net.Tests;

/// <summary>
/// TCP operations need the capabilities of what they do on the caller's Cx: IO always; Time too for a read
/// deadline or a connect timeout (they read the clock and arm a timer). Refusal is a <see cref="CapabilityException"/>
/// at the call, before anything happens — on real sockets and on the virtual network alike.
/// </summary>
public class CapabilityTests
{
    public static TheoryData<NetKind> Kinds => new() { NetKind.Real, NetKind.Seeded(3) };

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ReadDeadline_NeedsTime_PlainReadNeedsOnlyIO(NetKind kind)
    {
        await using var rt = NetFixture.NewRuntime(kind);
        var o = await rt.RunAsync(async cx =>
        {
            await using var listener = await cx.TcpBindAsync("127.0.0.1:0");
            var ep = listener.LocalEndPoint;
            var server = cx.Spawn("server", async cx =>
            {
                var (s, _) = await listener.AcceptAsync(cx);
                await using (s) await s.WriteAsync(cx, "ok"u8.ToArray());
            });
            await using var c = await cx.TcpConnectAsync(ep.ToString());
            var ioOnly = cx.Narrow(Capabilities.IO);
            var buf = new byte[8];
            var e = await Assert.ThrowsAsync<CapabilityException>(async () => await c.ReadAsync(ioOnly, buf, Budget.Timeout(TimeSpan.FromSeconds(5))));
            Assert.Equal(Capabilities.Time, e.Missing);
            await Assert.ThrowsAsync<CapabilityException>(async () => await c.ReadAsync(ioOnly, buf, Budget.AtDeadline(TimeSpan.MaxValue)));
            int total = 0;
            while (total < 2)
            {
                int n = await c.ReadAsync(ioOnly, buf.AsMemory(total)); // nothing was consumed by the refused reads
                if (n == 0) break;
                total += n;
            }
            await server.JoinAsync(cx);
            return System.Text.Encoding.ASCII.GetString(buf, 0, total);
        }).WaitAsync(NetFixture.TestTimeout);
        Assert.Equal("ok", o.Value);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ConnectTimeout_NeedsTime_ConnectWithoutOneNeedsOnlyIO(NetKind kind)
    {
        await using var rt = NetFixture.NewRuntime(kind);
        var o = await rt.RunAsync(async cx =>
        {
            await using var listener = await cx.TcpBindAsync("127.0.0.1:0");
            var ep = listener.LocalEndPoint.ToString();
            var ioOnly = cx.Narrow(Capabilities.IO);
            var e = await Assert.ThrowsAsync<CapabilityException>(async () => await ioOnly.TcpConnectAsync(ep, TimeSpan.FromSeconds(5)));
            var accept = cx.Spawn("accept", async cx => { var (s, _) = await listener.AcceptAsync(cx); s.Dispose(); });
            await using (await ioOnly.TcpConnectAsync(ep)) { }
            await accept.JoinAsync(cx);
            return e.Missing;
        }).WaitAsync(NetFixture.TestTimeout);
        Assert.Equal(Capabilities.Time, o.Value);
    }
}
