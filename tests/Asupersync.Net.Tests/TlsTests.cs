using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Asupersync.Tests.Shared;
using Asupersync.Net;
using static Asupersync.Net.Tests.NetFixture;

namespace Asupersync.Net.Tests;

public class TlsTests
{
    private static readonly X509Certificate2 Cert = TestCertificates.Localhost;

    private static SslServerAuthenticationOptions ServerOptions() => new()
    {
        ServerCertificate = Cert,
        ApplicationProtocols = [SslApplicationProtocol.Http11],
    };

    /// <summary>A listener task that authenticates each connection under <paramref name="handshake"/> and echoes; reports each handshake's end.</summary>
    private static async Task<T> WithTlsEcho<T>(Cx cx, TimeSpan handshake, Func<Cx, IPEndPoint, List<string>, Task<T>> client)
    {
        var ends = new List<string>();
        var bound = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = cx.Spawn("listener", async cx =>
        {
            await using var l = await cx.TcpBindAsync("127.0.0.1:0");
            bound.SetResult(l.LocalEndPoint);
            await cx.RegionAsync("conns", async cx =>
            {
                while (true)
                {
                    var (tcp, _) = await l.AcceptAsync(cx);
                    cx.Spawn("conn", async cx =>
                    {
                        TlsStream tls;
                        try
                        {
                            tls = await TlsStream.AuthenticateAsServerAsync(cx, tcp, ServerOptions(), Budget.Timeout(handshake));
                        }
                        catch (Exception e)
                        {
                            lock (ends) ends.Add(e.GetType().Name);
                            throw;
                        }
                        lock (ends) ends.Add("ok " + tls.NegotiatedApplicationProtocol);
                        await using var _ = tls;
                        var buf = new byte[4096];
                        while (true)
                        {
                            int n = await tls.ReadAsync(cx, buf);
                            if (n == 0) return;
                            await tls.WriteAsync(cx, buf.AsMemory(0, n));
                        }
                    });
                }
            });
        });
        var ep = await cx.AwaitAsync(bound.Task);
        try
        {
            return await client(cx, ep, ends);
        }
        finally
        {
            listener.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)), "test done");
            await listener.JoinAsync(cx);
        }
    }

    [Fact]
    public async Task Tls_EchoRoundTrips_WithRuntimeClientAndServer_AndAlpn()
    {
        await using var rt = NewRuntime(NetKind.Real);
        var o = await RunBounded(rt, cx => WithTlsEcho(cx, TimeSpan.FromSeconds(20), async (cx, ep, ends) =>
        {
            var tcp = await cx.TcpConnectAsync(ep, TimeSpan.FromSeconds(10));
            await using var tls = await TlsStream.AuthenticateAsClientAsync(cx, tcp, new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHashString() == Cert.GetCertHashString(),
            }, Budget.Timeout(TimeSpan.FromSeconds(20)));
            Assert.Equal(SslApplicationProtocol.Http11, tls.NegotiatedApplicationProtocol);
            for (int i = 0; i < 10; i++)
            {
                var msg = Encoding.ASCII.GetBytes($"hello {i} " + new string('x', i * 301));
                await tls.WriteAsync(cx, msg);
                var back = new byte[msg.Length];
                int got = 0;
                while (got < back.Length)
                {
                    int n = await tls.ReadAsync(cx, back.AsMemory(got));
                    Assert.NotEqual(0, n);
                    got += n;
                }
                Assert.Equal(msg, back);
            }
            await tls.ShutdownAsync(cx);
            return 0;
        }));
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(0, rt.Diagnostics.ObligationsLeaked);
    }

    [Fact]
    public async Task Tls_PlainDotNetSslStreamClient_RoundTrips()
    {
        await using var rt = NewRuntime(NetKind.Real);
        var o = await RunBounded(rt, cx => WithTlsEcho(cx, TimeSpan.FromSeconds(20), async (cx, ep, ends) =>
        {
            var res = await cx.AwaitAsync(PlainClient(ep));
            Assert.Equal("ping over tls", res);
            return 0;
        }));
        Assert.True(o.IsOk, o.ToString());
    }

    private static async Task<string> PlainClient(IPEndPoint ep)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(ep);
        await using var ssl = new SslStream(client.GetStream(), false);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", RemoteCertificateValidationCallback = (_, _, _, _) => true });
        var msg = Encoding.ASCII.GetBytes("ping over tls");
        await ssl.WriteAsync(msg);
        var back = new byte[msg.Length];
        await ssl.ReadExactlyAsync(back);
        return Encoding.ASCII.GetString(back);
    }

    /// <summary>A client that connects and never speaks: the server's handshake ends at its budget (TimeoutException) and the client sees the connection end.</summary>
    [Fact]
    public async Task Tls_StalledHandshake_IsCutAtItsBudget()
    {
        await using var rt = NewRuntime(NetKind.Real);
        var o = await RunBounded(rt, cx => WithTlsEcho(cx, TimeSpan.FromMilliseconds(300), async (cx, ep, ends) =>
        {
            var ended = await cx.AwaitAsync(SilentClient(ep));
            Assert.True(ended);
            for (int i = 0; i < 200; i++)
            {
                lock (ends) if (ends.Count > 0) break;
                await cx.SleepAsync(TimeSpan.FromMilliseconds(50));
            }
            lock (ends) Assert.Equal(["TimeoutException"], ends);
            return 0;
        }));
        Assert.True(o.IsOk, o.ToString());
    }

    private static async Task<bool> SilentClient(IPEndPoint ep)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(ep);
        var buf = new byte[64];
        try
        {
            // bounded generously (the handshake budget is 0.3 s; 30 s is 100x): the server must end it first
            int n = await client.GetStream().ReadAsync(buf).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            return n == 0;
        }
        catch (IOException)
        {
            return true; // reset: the handshake was aborted
        }
    }

    /// <summary>A plain-HTTP request on the TLS port: the handshake fails and the client sees a close, not a hang.</summary>
    [Fact]
    public async Task Tls_PlainHttpClient_GetsAClose()
    {
        await using var rt = NewRuntime(NetKind.Real);
        var o = await RunBounded(rt, cx => WithTlsEcho(cx, TimeSpan.FromSeconds(20), async (cx, ep, ends) =>
        {
            var ended = await cx.AwaitAsync(PlainHttp(ep));
            Assert.True(ended);
            return 0;
        }));
        Assert.True(o.IsOk, o.ToString());
    }

    private static async Task<bool> PlainHttp(IPEndPoint ep)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(ep);
        var s = client.GetStream();
        await s.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        var buf = new byte[4096];
        try
        {
            while (true)
            {
                int n = await s.ReadAsync(buf).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                if (n == 0) return true; // whatever alert came first, the connection ended
            }
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>A handshake whose task is cancelled (a drain) while the peer is silent ends Cancelled and aborts the TCP stream.</summary>
    [Fact]
    public async Task Tls_CancelledHandshake_EndsCancelled_AndAbortsTheConnection()
    {
        await using var rt = NewRuntime(NetKind.Real);
        var o = await RunBounded(rt, async cx =>
        {
            await using var l = await cx.TcpBindAsync("127.0.0.1:0");
            var client = SilentClient(l.LocalEndPoint);
            var (tcp, _) = await l.AcceptAsync(cx);
            var h = cx.Spawn("handshake", async cx =>
            {
                await TlsStream.AuthenticateAsServerAsync(cx, tcp, ServerOptions(), Budget.Unlimited);
                return 0;
            });
            await cx.SleepAsync(TimeSpan.FromMilliseconds(50));
            h.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)), "drain");
            var end = await h.JoinAsync(cx);
            Assert.True(end.IsCancelled, end.ToString());
            Assert.True(tcp.IsClosed);
            Assert.True(await cx.AwaitAsync(client));
            return 0;
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(0, rt.Diagnostics.ObligationsLeaked);
    }
}
