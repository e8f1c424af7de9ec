using System.Net.Sockets;
using Asupersync.Http;

namespace Asupersync.Http.Tests;

/// <summary>Issue 9 item 13: an idle keep-alive connection holds no buffer (request reader and socket alike).</summary>
public class IdleMemoryTests
{
    private static async Task<int> ReadOneResponseAsync(Socket s)
    {
        // "hello" with its head: read until the body arrived (the response is small, one or two segments).
        var buf = new byte[4096];
        int total = 0;
        while (true)
        {
            int n = await s.ReceiveAsync(buf.AsMemory(total), SocketFlags.None).AsTask().WaitAsync(ServerFixture.Bound);
            if (n == 0) throw new EndOfStreamException("closed: " + total);
            total += n;
            var text = System.Text.Encoding.Latin1.GetString(buf, 0, total);
            if (text.EndsWith("hello", StringComparison.Ordinal)) return int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    [Fact]
    public async Task IdleKeepAliveConnections_HoldNoBuffers()
    {
        await using var f = await ServerFixture.StartAsync();
        const int N = 50;
        var socks = new List<Socket>();
        try
        {
            for (int i = 0; i < N; i++)
            {
                var s = new Socket(System.Net.Sockets.AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socks.Add(s);
                await s.ConnectAsync(f.EndPoint).WaitAsync(ServerFixture.Bound);
                await s.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), SocketFlags.None);
                Assert.Equal(200, await ReadOneResponseAsync(s));
            }
            Assert.Equal(N, f.Server.ActiveConnections);
            // Each connection goes idle once its response is out; a bounded wait for the last ones to get there.
            for (int i = 0; i < 600 && f.Server.HeldBufferBytes() != 0; i++) await Task.Delay(50);
            Assert.Equal(0, f.Server.HeldBufferBytes());

            // A connection held no buffer, yet it is still served, and returns to holding none.
            await socks[0].SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), SocketFlags.None);
            Assert.Equal(200, await ReadOneResponseAsync(socks[0]));
            for (int i = 0; i < 600 && f.Server.HeldBufferBytes() != 0; i++) await Task.Delay(50);
            Assert.Equal(0, f.Server.HeldBufferBytes());
        }
        finally
        {
            foreach (var s in socks) s.Dispose();
        }
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task IdleConnection_PeerClose_IsSeenWithoutABuffer()
    {
        await using var f = await ServerFixture.StartAsync();
        using (var s = new Socket(System.Net.Sockets.AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await s.ConnectAsync(f.EndPoint).WaitAsync(ServerFixture.Bound);
            await s.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), SocketFlags.None);
            Assert.Equal(200, await ReadOneResponseAsync(s));
        }
        // The peer's FIN ends the readiness wait: the connection ends as served.
        for (int i = 0; i < 600 && f.Server.ActiveConnections != 0; i++) await Task.Delay(50);
        Assert.Equal(0, f.Server.ActiveConnections);
        Assert.Equal(1, f.Server.ConnectionsServed);
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
    }
}
