using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Asupersync;
using Asupersync.Http;
using Asupersync.Net;

// The one-screen cancel-correct server (DESIGN §1), serving HTTP/1.1: GET /, POST /echo and GET /sleep?ms=N.
// Listens on 127.0.0.1:8080 unless an endpoint is given as an argument or in ASUPERSYNC_LISTEN.
// HTTPS: `--tls cert.pfx` (password in ASUPERSYNC_TLS_PASSWORD, if any), or `--tls` alone for a self-signed
// certificate made at start (try it with `curl --insecure https://127.0.0.1:8080/`).
int tlsAt = Array.IndexOf(args, "--tls");
var pfx = tlsAt >= 0 && tlsAt + 1 < args.Length && args[tlsAt + 1].EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) ? args[tlsAt + 1] : null;
var endPoint = args.Where((a, i) => !a.StartsWith("--") && !(pfx is not null && i == tlsAt + 1)).FirstOrDefault()
    ?? Environment.GetEnvironmentVariable("ASUPERSYNC_LISTEN") ?? "127.0.0.1:8080";
var options = new HttpServerOptions();
if (tlsAt >= 0) options = options.WithCertificate(pfx is not null
    ? X509CertificateLoader.LoadPkcs12FromFile(pfx, Environment.GetEnvironmentVariable("ASUPERSYNC_TLS_PASSWORD"))
    : SelfSigned());
var http = new HttpServer(new HttpRouter()
    .MapGet("/", (cx, req) => Task.FromResult(HttpResponse.Text("hello from asupersync\n")))
    .MapPost("/echo", (cx, req) => Task.FromResult(HttpResponse.Bytes(req.Body)))
    .MapGet("/sleep", async (cx, req) =>                                       // GET /sleep?ms=N: a slow request
    {
        await cx.SleepAsync(TimeSpan.FromMilliseconds(int.TryParse(req.Query.TrimStart('?').Replace("ms=", ""), out var ms) ? Math.Clamp(ms, 0, 60_000) : 1000));
        return HttpResponse.Text("slept\n");
    }), options);

return Runtime.Main(args, async cx =>
{
    var outcome = await cx.RegionAsync("server", async cx =>
    {
        var listener = cx.Spawn("listener", async cx =>
        {
            await using var socket = await cx.TcpBindAsync(endPoint);
            Console.WriteLine($"listening on {(tlsAt >= 0 ? "https" : "http")}://{socket.LocalEndPoint}/ (Ctrl+C to stop)");
            var served = await cx.RegionAsync("connections", async cx => // owned by the listener: its cancel drains them
            {
                while (true)
                {
                    var (stream, _) = await socket.AcceptAsync(cx);          // out of fds: retried with backoff, reported
                    http.SpawnConnection(cx, stream, "conn");                   // owns the stream, even if cancelled before it starts
                }
            });
            if (served.IsErr || served.IsPanicked) served.GetValueOrThrow();    // a dead listener fails the server
        });

        await cx.ShutdownSignalAsync();                                           // SIGINT / SIGTERM
        listener.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)), "shutdown");    // 5 s to drain: in-flight requests finish
    });
    if (!outcome.IsOk) Console.Error.WriteLine($"server failed: {outcome}");
    Console.WriteLine($"stopped: {http.Summary()}");
    return Runtime.ExitCodeOf(outcome);
});

// A certificate for localhost and 127.0.0.1, valid for a week, made in memory (never written to disk).
static X509Certificate2 SelfSigned()
{
    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var req = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
    var san = new SubjectAlternativeNameBuilder();
    san.AddDnsName("localhost");
    san.AddIpAddress(IPAddress.Loopback);
    req.CertificateExtensions.Add(san.Build());
    using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7));
    return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
}
