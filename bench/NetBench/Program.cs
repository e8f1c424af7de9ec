// Side-by-side network benchmarks (issue 5). Servers and the echo load generator run as separate processes:
//   dotnet NetBench.dll raw-echo 9001            raw System.Net.Sockets async echo server (baseline)
//   dotnet NetBench.dll asupersync-echo 9002     the same echo on Asupersync.Net
//   dotnet NetBench.dll asupersync-http 9003     GET /plaintext on Asupersync.Http
//   dotnet NetBench.dll kestrel 9004             GET /plaintext on a Kestrel minimal API
//   dotnet NetBench.dll asupersync-https 9005    GET /plaintext on Asupersync.Http over TLS (self-signed, in memory)
//   dotnet NetBench.dll kestrel-https 9006       GET /plaintext on Kestrel over TLS (the same kind of certificate)
//   dotnet NetBench.dll echo-load 9001 64 10 32 [depth]  load: 64 connections, 10 s, 32-byte ping-pong (depth
//                                                messages in flight per connection, default 1); req/s, p50, p99
//   dotnet NetBench.dll idle-load 9003 10000 20 N keep-alive connections, one GET /plaintext each, then idle for 20 s
// HTTP load comes from wrk: wrk -t2 -c64 -d10s http://127.0.0.1:9003/plaintext
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Asupersync;
using Asupersync.Http;
using Asupersync.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

var mode = args.Length > 0 ? args[0] : "help";
int port = args.Length > 1 ? int.Parse(args[1]) : 9000;
switch (mode)
{
    case "raw-echo":
        return await RawEcho(port);
    case "asupersync-echo":
        return AsupersyncEcho(port);
    case "asupersync-http":
        return AsupersyncHttp(port, null);
    case "asupersync-https":
        return AsupersyncHttp(port, SelfSigned());
    case "kestrel":
        return Kestrel(port, null);
    case "kestrel-https":
        return Kestrel(port, SelfSigned());
    case "idle-load":
        return await IdleLoad(port, int.Parse(args[2]), int.Parse(args[3]));
    case "echo-load":
        return await EchoLoad(port, int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]), args.Length > 5 ? int.Parse(args[5]) : 1);
    default:
        Console.WriteLine("modes: raw-echo | asupersync-echo | asupersync-http | kestrel <port>;  echo-load <port> <conns> <seconds> <size>");
        return 2;
}

static async Task<int> RawEcho(int port)
{
    using var l = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    l.Bind(new IPEndPoint(IPAddress.Loopback, port));
    l.Listen(512);
    Console.WriteLine($"raw echo on {l.LocalEndPoint}");
    while (true)
    {
        var s = await l.AcceptAsync();
        s.NoDelay = true;
        _ = Task.Run(async () =>
        {
            using var _ = s;
            var buf = new byte[4096];
            try
            {
                int n;
                while ((n = await s.ReceiveAsync(buf, SocketFlags.None)) > 0) await s.SendAsync(buf.AsMemory(0, n), SocketFlags.None);
            }
            catch (SocketException) { }
        });
    }
}

static int AsupersyncEcho(int port) => Runtime.Main([], cx => cx.RegionAsync("echo", async cx =>
{
    var listener = cx.Spawn("listener", async cx =>
    {
        await using var l = await cx.TcpBindAsync($"127.0.0.1:{port}");
        Console.WriteLine($"asupersync echo on {l.LocalEndPoint}");
        await cx.RegionAsync("conns", async cx =>
        {
            while (true)
            {
                var (s, _) = await l.AcceptAsync(cx);
                cx.Spawn("conn", async cx =>
                {
                    await using var _ = s;
                    var buf = new byte[4096];
                    int n;
                    try
                    {
                        while ((n = await s.ReadAsync(cx, buf)) > 0) await s.WriteAsync(cx, buf.AsMemory(0, n));
                    }
                    catch (IOException) { }
                });
            }
        });
    });
    await cx.ShutdownSignalAsync();
    listener.Cancel(Budget.Timeout(TimeSpan.FromSeconds(2)));
}));

static X509Certificate2 SelfSigned()
{
    using var key = RSA.Create(2048);
    var req = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
    return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
}

static int AsupersyncHttp(int port, X509Certificate2? cert)
{
    var body = "Hello, World!"u8.ToArray();
    var router = new HttpRouter().MapGet("/plaintext", (cx, r) => Task.FromResult(HttpResponse.Bytes(body, "text/plain")));
    var server = new HttpServer(router, cert is null ? new HttpServerOptions() : new HttpServerOptions().WithCertificate(cert));
    return Runtime.Main([], cx => cx.RegionAsync("http", async cx =>
    {
        var serve = cx.Spawn("serve", async cx =>
        {
            await using var l = await cx.TcpBindAsync($"127.0.0.1:{port}");
            Console.WriteLine($"asupersync http on {l.LocalEndPoint}");
            await server.ServeAsync(cx, l);
        });
        await cx.ShutdownSignalAsync();
        serve.Cancel(Budget.Timeout(TimeSpan.FromSeconds(2)));
    }));
}

static int Kestrel(int port, X509Certificate2? cert)
{
    var b = WebApplication.CreateSlimBuilder();
    b.Logging.ClearProviders();
    if (cert is null) b.WebHost.UseUrls($"http://127.0.0.1:{port}");
    else b.WebHost.UseKestrelHttpsConfiguration().ConfigureKestrel(o => o.Listen(IPAddress.Loopback, port, l => l.UseHttps(cert)));
    var app = b.Build();
    app.MapGet("/plaintext", () => Microsoft.AspNetCore.Http.Results.Text("Hello, World!"));
    Console.WriteLine($"kestrel on 127.0.0.1:{port}");
    app.Run();
    return 0;
}

static async Task<int> IdleLoad(int port, int conns, int holdSeconds)
{
    // Issue 9 item 13: N keep-alive connections, one request each, then held idle while the server's memory is read.
    var ep = new IPEndPoint(IPAddress.Loopback, port);
    var socks = new Socket[conns];
    var req = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
    using var gate = new SemaphoreSlim(64);
    await Task.WhenAll(Enumerable.Range(0, conns).Select(async i =>
    {
        await gate.WaitAsync();
        try
        {
            var s = socks[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(ep);
            await s.SendAsync(req, SocketFlags.None);
            var buf = new byte[1024];
            int got = 0;
            while (true)
            {
                int n = await s.ReceiveAsync(buf.AsMemory(got), SocketFlags.None);
                if (n == 0) throw new IOException("server closed");
                got += n;
                if (System.Text.Encoding.ASCII.GetString(buf, 0, got).EndsWith("Hello, World!", StringComparison.Ordinal)) break;
            }
        }
        finally
        {
            gate.Release();
        }
    }));
    Console.WriteLine($"idle {conns}");
    await Task.Delay(TimeSpan.FromSeconds(holdSeconds));
    foreach (var s in socks) s.Dispose();
    return 0;
}

static async Task<int> EchoLoad(int port, int conns, int seconds, int size, int depth)
{
    // depth > 1: depth messages are written back to back, then all their echoes read (a pipelined echo).
    long total = 0;
    var ep = new IPEndPoint(IPAddress.Loopback, port);
    var stop = Stopwatch.StartNew();
    var duration = TimeSpan.FromSeconds(seconds);
    var warmup = TimeSpan.FromSeconds(1);
    var lat = new List<long>[conns];
    var tasks = Enumerable.Range(0, conns).Select(async i =>
    {
        var mine = lat[i] = new List<long>(100_000);
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await s.ConnectAsync(ep);
        var msg = new byte[size * depth];
        var buf = new byte[size * depth];
        while (stop.Elapsed < duration + warmup)
        {
            long t0 = Stopwatch.GetTimestamp();
            await s.SendAsync(msg, SocketFlags.None);
            int got = 0;
            while (got < msg.Length)
            {
                int n = await s.ReceiveAsync(buf.AsMemory(got), SocketFlags.None);
                if (n == 0) throw new IOException("server closed");
                got += n;
            }
            if (stop.Elapsed >= warmup)
            {
                for (int k = 0; k < depth; k++) mine.Add(Stopwatch.GetTimestamp() - t0);
            }
            Interlocked.Add(ref total, depth);
        }
    }).ToArray();
    await Task.WhenAll(tasks);
    var all = lat.SelectMany(l => l).OrderBy(x => x).ToArray();
    double p99 = all.Length == 0 ? 0 : all[(int)(all.Length * 0.99)] * 1000.0 / Stopwatch.Frequency;
    double p50 = all.Length == 0 ? 0 : all[all.Length / 2] * 1000.0 / Stopwatch.Frequency;
    // "total" counts the warm-up second too: it is what CPU time over the whole load is divided by.
    Console.WriteLine($"port {port}: {all.Length / (double)seconds:F0} req/s, p50 {p50:F3} ms, p99 {p99:F3} ms ({conns} conns, {size} B, depth {depth}, {seconds} s) total {Interlocked.Read(ref total)}");
    return 0;
}
