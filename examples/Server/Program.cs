using Asupersync;
using Asupersync.Http;
using Asupersync.Net;

// The one-screen cancel-correct server (DESIGN §1), serving HTTP/1.1: GET / and POST /echo.
// Listens on 127.0.0.1:8080 unless an endpoint is given as the first argument or in ASUPERSYNC_LISTEN.
var endPoint = args.FirstOrDefault(a => !a.StartsWith("--")) ?? Environment.GetEnvironmentVariable("ASUPERSYNC_LISTEN") ?? "127.0.0.1:8080";
var http = new HttpServer(new HttpRouter()
    .MapGet("/", (cx, req) => Task.FromResult(HttpResponse.Text("hello from asupersync\n")))
    .MapPost("/echo", (cx, req) => Task.FromResult(HttpResponse.Bytes(req.Body))));

return Runtime.Main(args, async cx =>
{
    var outcome = await cx.RegionAsync("server", async cx =>
    {
        var listener = cx.Spawn("listener", async cx =>
        {
            await using var socket = await cx.TcpBindAsync(endPoint);
            Console.WriteLine($"listening on http://{socket.LocalEndPoint}/ (Ctrl+C to stop)");
            await cx.RegionAsync("connections", async cx =>          // owned by the listener: its cancel drains them
            {
                while (true)
                {
                    var (stream, _) = await socket.AcceptAsync(cx);
                    cx.Spawn("conn", cx => http.ServeConnectionAsync(cx, stream));
                }
            });
        });

        await cx.ShutdownSignalAsync();                                           // SIGINT / SIGTERM
        listener.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)), "shutdown");    // 5 s to drain
    });
    if (!outcome.IsOk) Console.Error.WriteLine($"server failed: {outcome}");
    Console.WriteLine($"stopped: {http.RequestsServed} requests; connections {http.ConnectionsServed} served, {http.ConnectionsDrained} drained, {http.ConnectionsAborted} cancelled");
    return Runtime.ExitCodeOf(outcome);
});
