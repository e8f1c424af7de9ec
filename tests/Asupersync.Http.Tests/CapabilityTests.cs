using Asupersync.Net;

namespace Asupersync.Http.Tests;

/// <summary>
/// The HTTP server reads the clock (header, body and idle deadlines, the drain timer) and spawns a region per
/// request, so serving needs IO, Time and Spawn on the caller's Cx; the client needs IO. A missing capability is a
/// <see cref="CapabilityException"/> at the call — not a connection silently aborted.
/// </summary>
public class CapabilityTests
{
    [Theory]
    [InlineData(Capabilities.IO | Capabilities.Spawn, Capabilities.Time)]
    [InlineData(Capabilities.IO | Capabilities.Time, Capabilities.Spawn)]
    public async Task Serving_WithoutTimeOrSpawn_IsRefusedAtTheCall(Capabilities keep, Capabilities missing)
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var server = new HttpServer((_, _) => Task.FromResult(HttpResponse.Text("hi")));
        var o = await rt.RunAsync(async cx =>
        {
            await using var listener = await cx.TcpBindAsync("127.0.0.1:0");
            var narrow = cx.Narrow(keep);
            var e1 = await Assert.ThrowsAsync<CapabilityException>(() => server.ServeAsync(narrow, listener));
            var accept = cx.Spawn("accept", async cx => (await listener.AcceptAsync(cx)).Stream);
            await using var client = await cx.TcpConnectAsync(listener.LocalEndPoint.ToString());
            await using var stream = await accept.ValueAsync(cx);
            var e2 = await Assert.ThrowsAsync<CapabilityException>(() => server.ServeConnectionAsync(narrow, stream));
            return (e1.Missing, e2.Missing);
        }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((missing, missing), o.Value);
    }

    [Fact]
    public async Task Client_WithoutIO_IsRefusedAtTheCall()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var o = await rt.RunAsync(async cx =>
        {
            await using var listener = await cx.TcpBindAsync("127.0.0.1:0");
            var accept = cx.Spawn("accept", async cx => (await listener.AcceptAsync(cx)).Stream);
            var conn = await HttpClientConnection.ConnectAsync(cx, listener.LocalEndPoint.ToString());
            await using var stream = await accept.ValueAsync(cx);
            var e = await Assert.ThrowsAsync<CapabilityException>(() => conn.SendAsync(cx.Narrow(Capabilities.Time), "GET", "/"));
            conn.Stream.Dispose();
            return e.Missing;
        }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Capabilities.IO, o.Value);
    }
}
