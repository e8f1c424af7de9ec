using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Asupersync.Tests.Shared;
using Asupersync.Http;

namespace Asupersync.Http.Tests;

/// <summary>Issue 12 item 3: <see cref="HttpServer"/> over TLS (<see cref="HttpServerOptions.Tls"/>).</summary>
public class HttpsTests
{
    private static readonly X509Certificate2 Cert = TestCertificates.Localhost;

    private static HttpServerOptions Tls(HttpServerOptions? o = null) => (o ?? new HttpServerOptions()).WithCertificate(Cert);

    private static HttpClient Client() => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    })
    { Timeout = ServerFixture.Bound };

    private static async Task Until(Func<bool> done)
    {
        for (int i = 0; i < 600 && !done(); i++) await Task.Delay(50);
    }

    private static async Task<SslStream> TlsConnectAsync(IPEndPoint ep)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(ep).WaitAsync(ServerFixture.Bound);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        }).WaitAsync(ServerFixture.Bound);
        return ssl;
    }

    [Fact]
    public async Task HttpClient_OverTls_KeepAlive_Echo_Chunked()
    {
        await using var f = await ServerFixture.StartAsync(Tls());
        using var client = Client();
        var baseUri = new Uri($"https://127.0.0.1:{f.EndPoint.Port}/");
        for (int i = 0; i < 3; i++) Assert.Equal("hello", await client.GetStringAsync(baseUri));

        var body = new byte[200_000];
        new Random(12).NextBytes(body);
        using var resp = await client.PostAsync(new Uri(baseUri, "/echo"), new ByteArrayContent(body));
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal(body, await resp.Content.ReadAsByteArrayAsync());

        Assert.Equal("part0;part1;part2;part3;part4;", await client.GetStringAsync(new Uri(baseUri, "/stream")));
        Assert.Equal(1, f.Server.ActiveConnections); // every request on the one keep-alive connection

        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(0, f.Server.ConnectionsAborted);
    }

    [Fact]
    public async Task Alpn_Http11_And_PipelinedRequests_InOneRecord()
    {
        await using var f = await ServerFixture.StartAsync(Tls());
        await using (var ssl = await TlsConnectAsync(f.EndPoint))
        {
            Assert.Equal(SslApplicationProtocol.Http11, ssl.NegotiatedApplicationProtocol);
            // Three requests in one TLS record: the second and third are already decrypted (buffered) when the first is answered.
            await ssl.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
            var ms = new MemoryStream();
            var buf = new byte[4096];
            int n;
            while ((n = await ssl.ReadAsync(buf).AsTask().WaitAsync(ServerFixture.Bound)) > 0) ms.Write(buf, 0, n);
            var text = Encoding.Latin1.GetString(ms.ToArray());
            Assert.Equal(3, text.Split("HTTP/1.1 200 OK").Length - 1);
            Assert.EndsWith("hello", text, StringComparison.Ordinal);
        }
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task Curl_Insecure_GetsTheResponse()
    {
        if (!File.Exists("/usr/bin/curl")) return; // curl is not installed here: HttpClient covers HTTPS above
        await using var f = await ServerFixture.StartAsync(Tls());
        var psi = new ProcessStartInfo("/usr/bin/curl", ["--insecure", "--silent", "--show-error", "--max-time", "30", $"https://127.0.0.1:{f.EndPoint.Port}/"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(p.ExitCode == 0, "curl failed: " + await stderr);
        Assert.Equal("hello", await stdout);
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task PlainHttp_OnTheTlsPort_GetsACleanClose()
    {
        await using var f = await ServerFixture.StartAsync(Tls());
        var r = await RawClient.SendAsync(f.EndPoint, RawClient.Ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ServerFixture.Bound);
        Assert.True(r.Closed);
        Assert.Null(r.Status); // nothing served in plaintext
        await Until(() => f.Server.ActiveConnections == 0);
        Assert.Equal(0, f.Server.ActiveConnections);
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task StalledHandshake_IsCutAtItsBudget()
    {
        await using var f = await ServerFixture.StartAsync(Tls(new HttpServerOptions { TlsHandshakeTimeout = TimeSpan.FromMilliseconds(300) }));
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(f.EndPoint).WaitAsync(ServerFixture.Bound);
        var r = await RawClient.ReadAllAsync(s, ServerFixture.Bound); // the client never speaks
        Assert.True(r.Closed);
        await Until(() => f.Server.ConnectionsAborted == 1);
        Assert.Equal(1, f.Server.ConnectionsAborted);
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
    }

    [Fact]
    public async Task Shutdown_DuringHandshakes_Drains()
    {
        await using var f = await ServerFixture.StartAsync(Tls(new HttpServerOptions { TlsHandshakeTimeout = TimeSpan.FromMinutes(10) }));
        const int N = 5;
        var socks = new List<Socket>();
        try
        {
            for (int i = 0; i < N; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socks.Add(s);
                await s.ConnectAsync(f.EndPoint).WaitAsync(ServerFixture.Bound);
                if (i % 2 == 1) await s.SendAsync(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x40 }, SocketFlags.None); // half a ClientHello record header
            }
            // Every connection's task is in its handshake (a connection only accepted is another matter: see DrainTests).
            await Until(() => f.Server.HandshakesInProgress == N);
            Assert.Equal(N, f.Server.HandshakesInProgress);
            var o = await f.StopAsync(TimeSpan.FromSeconds(20)); // far below the 10 min handshake budget: the drain ends them
            Assert.True(o.IsCancelled || o.IsOk, o.ToString());
            Assert.True(N == f.Server.ConnectionsDrained, f.Server.Summary());
            Assert.Equal(0, f.Server.ActiveConnections);
            foreach (var s in socks) Assert.True((await RawClient.ReadAllAsync(s, ServerFixture.Bound)).Closed);
        }
        finally
        {
            foreach (var s in socks) s.Dispose();
        }
    }

    [Fact]
    public async Task IdleTlsConnection_HoldsNoBuffer_AndDrainsCleanly()
    {
        await using var f = await ServerFixture.StartAsync(Tls());
        await using var ssl = await TlsConnectAsync(f.EndPoint);
        await ssl.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var buf = new byte[4096];
        int total = 0;
        while (!Encoding.Latin1.GetString(buf, 0, total).EndsWith("hello", StringComparison.Ordinal))
        {
            int n = await ssl.ReadAsync(buf.AsMemory(total)).AsTask().WaitAsync(ServerFixture.Bound);
            Assert.NotEqual(0, n);
            total += n;
        }
        await Until(() => f.Server.HeldBufferBytes() == 0);
        Assert.Equal(0, f.Server.HeldBufferBytes());
        Assert.Equal(1, f.Server.ActiveConnections);

        // The idle wait is cancel-safe on TLS too: the drain closes the connection cleanly, not by a reset.
        var o = await f.StopAsync();
        Assert.True(o.IsCancelled || o.IsOk, o.ToString());
        Assert.Equal(1, f.Server.ConnectionsDrained);
        Assert.Equal(0, f.Server.ConnectionsAborted);
        Assert.Equal(0, await ssl.ReadAsync(buf).AsTask().WaitAsync(ServerFixture.Bound));
    }
}
