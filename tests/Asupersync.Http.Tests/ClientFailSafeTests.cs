using System.Net;
using System.Net.Sockets;
using System.Text;
using Asupersync.Lab;
using Asupersync.Net;

namespace Asupersync.Http.Tests;

/// <summary>
/// The client fails safe (issue 9, item 12): ambiguous framing is an error that closes the connection, interim
/// responses are bounded, and a silent or dripping server cannot hang the caller — with default timeouts.
/// </summary>
public class ClientFailSafeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>A scripted server outside the runtime: accepts one connection, reads the request head, then runs <paramref name="script"/>.</summary>
    private static async Task<T> WithScriptedServerAsync<T>(Func<Socket, Task> script, Func<Cx, string, Task<T>> client)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(8);
        var ep = listener.LocalEndPoint!.ToString()!;
        using var stop = new CancellationTokenSource();
        var serverTask = Task.Run(async () =>
        {
            using var s = await listener.AcceptAsync(stop.Token);
            var buf = new byte[4096];
            var head = new StringBuilder();
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                int n = await s.ReceiveAsync(buf, SocketFlags.None, stop.Token);
                if (n == 0) return;
                head.Append(Encoding.Latin1.GetString(buf, 0, n));
            }
            try
            {
                await script(s);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // the client gave up and closed: that is what these tests want
            }
        });
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        try
        {
            var o = await rt.RunAsync(cx => client(cx, ep)).WaitAsync(Bound);
            return o.GetValueOrThrow();
        }
        finally
        {
            stop.Cancel();
            try { await serverTask.WaitAsync(Bound); }
            catch (OperationCanceledException) { }
        }
    }

    private static async Task<bool> PeerClosedAsync(Socket s)
    {
        var buf = new byte[256];
        using var cts = new CancellationTokenSource(Bound);
        try
        {
            while (await s.ReceiveAsync(buf, SocketFlags.None, cts.Token) > 0) { }
            return true;
        }
        catch (SocketException)
        {
            return true; // reset counts as closed
        }
    }

    [Fact]
    public async Task ConflictingContentLength_IsAnError_AndTheConnectionIsClosed()
    {
        var closed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (error, broken) = await WithScriptedServerAsync(async s =>
        {
            // Read as 3 bytes, "abc" and then "defHTTP/1.1 200..." would be taken for the next response: a smuggled answer.
            await s.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 20\r\n\r\nabcdefHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nforge"));
            closed.TrySetResult(await PeerClosedAsync(s));
        }, async (cx, ep) =>
        {
            var c = await HttpClientConnection.ConnectAsync(cx, ep);
            var e = await Assert.ThrowsAsync<IOException>(() => c.SendAsync(cx, "GET", "/"));
            var again = await Assert.ThrowsAsync<InvalidOperationException>(() => c.SendAsync(cx, "GET", "/"));
            return (e.Message, c.Stream.IsClosed);
        });
        Assert.Contains("Conflicting Content-Length", error, StringComparison.Ordinal);
        Assert.True(broken);
        Assert.True(await closed.Task.WaitAsync(Bound));
    }

    [Fact]
    public async Task RepeatedEqualContentLength_IsAccepted()
    {
        var text = await WithScriptedServerAsync(
            s => s.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")),
            async (cx, ep) =>
            {
                await using var c = await HttpClientConnection.ConnectAsync(cx, ep);
                return (await c.SendAsync(cx, "GET", "/")).BodyText();
            });
        Assert.Equal("abc", text);
    }

    [Fact]
    public async Task EndlessInterimResponses_AreAnError()
    {
        var msg = await WithScriptedServerAsync(async s =>
        {
            for (int i = 0; i < 10_000; i++) await s.SendAsync("HTTP/1.1 102 Processing\r\n\r\n"u8.ToArray());
        }, async (cx, ep) =>
        {
            var c = await HttpClientConnection.ConnectAsync(cx, ep);
            var e = await Assert.ThrowsAsync<IOException>(() => c.SendAsync(cx, "GET", "/"));
            Assert.True(c.Stream.IsClosed);
            return e.Message;
        });
        Assert.Contains("interim", msg, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SilentServer_TimesOutTheHead_AndClosesTheConnection()
    {
        var closed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var isClosed = await WithScriptedServerAsync(async s => closed.TrySetResult(await PeerClosedAsync(s)), async (cx, ep) =>
        {
            var c = await HttpClientConnection.ConnectAsync(cx, ep);
            c.ResponseHeadersTimeout = TimeSpan.FromSeconds(1);
            await Assert.ThrowsAsync<TimeoutException>(() => c.SendAsync(cx, "GET", "/"));
            return c.Stream.IsClosed;
        });
        Assert.True(isClosed);
        Assert.True(await closed.Task.WaitAsync(Bound));
    }

    [Fact]
    public async Task DrippingServer_TimesOutTheHead()
    {
        // One byte of the head every 100 ms, forever: each read makes progress, but the head as a whole has a deadline.
        await WithScriptedServerAsync(async s =>
        {
            var text = "HTTP/1.1 200 OK\r\nX-Drip: " + new string('d', 100_000);
            foreach (var ch in text)
            {
                await s.SendAsync(new[] { (byte)ch });
                await Task.Delay(100);
            }
        }, async (cx, ep) =>
        {
            var c = await HttpClientConnection.ConnectAsync(cx, ep);
            c.ResponseHeadersTimeout = TimeSpan.FromSeconds(1);
            await Assert.ThrowsAsync<TimeoutException>(() => c.SendAsync(cx, "GET", "/"));
            return true;
        });
    }

    [Fact]
    public async Task DrippingServer_TimesOutTheBody()
    {
        await WithScriptedServerAsync(async s =>
        {
            await s.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"u8.ToArray());
            for (int i = 0; i < 100_000; i++)
            {
                await s.SendAsync("b"u8.ToArray());
                await Task.Delay(100);
            }
        }, async (cx, ep) =>
        {
            var c = await HttpClientConnection.ConnectAsync(cx, ep);
            c.ResponseBodyTimeout = TimeSpan.FromSeconds(1);
            await Assert.ThrowsAsync<TimeoutException>(() => c.SendAsync(cx, "GET", "/"));
            return c.Stream.IsClosed ? true : throw new InvalidOperationException("connection left open");
        });
    }

    [Fact]
    public void Defaults_AreFinite()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), HttpClientConnection.DefaultConnectTimeout);
        Assert.InRange(HttpClientConnection.MaxInterimResponses, 1, 999);
    }

    /// <summary>Under the Lab (virtual time): a server that accepts and never answers, and a client left at its defaults — the default head timeout ends the exchange.</summary>
    private static async Task SilentServerWithDefaults(Cx cx)
    {
        VirtualNetwork.Install(cx.Task.Runtime, new VirtualNetworkOptions { MaxLatency = TimeSpan.FromMilliseconds(2) });
        await using var listener = await cx.TcpBindAsync("127.0.0.1:0");
        var silent = cx.Spawn("silent-server", async cx =>
        {
            var (s, _) = await listener.AcceptAsync(cx);
            await using (s)
            {
                var buf = new byte[1024];
                try
                {
                    while (await s.ReadAsync(cx, buf) > 0) { } // never answers; ends when the client closes
                }
                catch (IOException)
                {
                    // the client gave up with a reset
                }
            }
        });
        var started = cx.Task.Runtime.Now;
        var c = await HttpClientConnection.ConnectAsync(cx, listener.LocalEndPoint.ToString());
        try
        {
            await c.SendAsync(cx, "GET", "/");
            throw new InvalidOperationException("a silent server produced a response");
        }
        catch (TimeoutException)
        {
        }
        var waited = cx.Task.Runtime.Now - started;
        if (waited < TimeSpan.FromSeconds(29) || waited > TimeSpan.FromSeconds(31)) throw new InvalidOperationException($"timed out after {waited} of virtual time");
        if (!c.Stream.IsClosed) throw new InvalidOperationException("connection left open");
        await silent.JoinAsync(cx);
    }

    [Fact]
    public void SilentServer_DefaultHeadTimeout_UnderLab()
    {
        var last = LabTest.ForSeeds(5, SilentServerWithDefaults);
        Assert.True(last.Passed, last.Describe());
    }
}
