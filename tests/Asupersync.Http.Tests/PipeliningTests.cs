using System.Net.Sockets;
using System.Text;

namespace Asupersync.Http.Tests;

/// <summary>Issue 12 item 1: pipelined responses are batched, but never held back across a wait on the network.</summary>
public class PipeliningTests
{
    private static async Task<string> ReadUntilAsync(Socket s, StringBuilder acc, Func<string, bool> done)
    {
        var buf = new byte[8192];
        while (!done(acc.ToString()))
        {
            int n = await s.ReceiveAsync(buf.AsMemory(), SocketFlags.None).AsTask().WaitAsync(ServerFixture.Bound);
            if (n == 0) break;
            acc.Append(Encoding.Latin1.GetString(buf, 0, n));
        }
        return acc.ToString();
    }

    private static int Count(string text, string what) => text.Split(what).Length - 1;

    [Fact]
    public async Task ManyPipelinedRequests_AllAnsweredInOrder_BuffersReturned()
    {
        await using var f = await ServerFixture.StartAsync();
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(f.EndPoint).WaitAsync(ServerFixture.Bound);
        var req = new StringBuilder();
        for (int i = 0; i < 100; i++) req.Append(i % 10 == 9 ? "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture) : "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        await s.SendAsync(Encoding.Latin1.GetBytes(req.ToString()), SocketFlags.None);
        var text = await ReadUntilAsync(s, new StringBuilder(), t => Count(t, "HTTP/1.1 200 OK") == 100 && t.EndsWith("099", StringComparison.Ordinal));
        Assert.Equal(100, Count(text, "HTTP/1.1 200 OK"));
        // In order: each echo body follows the nine hellos before it.
        int at = 0;
        for (int i = 9; i < 100; i += 10)
        {
            int next = text.IndexOf(i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture), at, StringComparison.Ordinal);
            Assert.True(next > at, $"echo {i} out of order");
            Assert.Equal(9, Count(text[at..next], "hello"));
            at = next;
        }
        for (int i = 0; i < 600 && f.Server.HeldBufferBytes() != 0; i++) await Task.Delay(50);
        Assert.Equal(0, f.Server.HeldBufferBytes());
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task AResponse_IsNotHeldBack_WhileTheNextRequestIsIncomplete()
    {
        await using var f = await ServerFixture.StartAsync();
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(f.EndPoint).WaitAsync(ServerFixture.Bound);
        // Two whole requests and the start of a third (head incomplete), then a POST whose body is still missing.
        await s.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHo"u8.ToArray(), SocketFlags.None);
        var acc = new StringBuilder();
        Assert.Equal(2, Count(await ReadUntilAsync(s, acc, t => Count(t, "hello") == 2), "hello"));
        await s.SendAsync("st: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab"u8.ToArray(), SocketFlags.None);
        Assert.Equal(3, Count(await ReadUntilAsync(s, acc, t => Count(t, "hello") == 3), "hello"));
        await s.SendAsync("cd"u8.ToArray(), SocketFlags.None);
        Assert.EndsWith("abcd", await ReadUntilAsync(s, acc, t => t.EndsWith("abcd", StringComparison.Ordinal)), StringComparison.Ordinal);
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
    }
}
