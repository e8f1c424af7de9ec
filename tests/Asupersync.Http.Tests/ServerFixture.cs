using System.Net;
using System.Net.Sockets;
using System.Text;
using Asupersync.Http;
using Asupersync.Net;

namespace Asupersync.Http.Tests;

/// <summary>A runtime serving an <see cref="HttpServer"/> on an ephemeral loopback port (or the virtual network).</summary>
internal sealed class ServerFixture : IAsyncDisposable
{
    internal static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    internal readonly Runtime Runtime;
    internal readonly HttpServer Server;
    internal readonly IPEndPoint EndPoint;
    private readonly TaskHandle<Unit> _serve;
    internal readonly Task<Outcome<Unit>> Root;
    private readonly TaskCompletionSource<TaskHandle<Unit>> _serveHandle;

    private ServerFixture(Runtime rt, HttpServer server, IPEndPoint ep, Task<Outcome<Unit>> root, TaskHandle<Unit> serve, TaskCompletionSource<TaskHandle<Unit>> tcs)
    {
        Runtime = rt;
        Server = server;
        EndPoint = ep;
        Root = root;
        _serve = serve;
        _serveHandle = tcs;
    }

    internal static HttpRouter DefaultRouter() => new HttpRouter()
        .MapGet("/", (cx, r) => Task.FromResult(HttpResponse.Text("hello")))
        .MapPost("/echo", (cx, r) => Task.FromResult(HttpResponse.Bytes(r.Body)))
        .MapGet("/slow", async (cx, r) =>
        {
            await cx.SleepAsync(TimeSpan.FromMilliseconds(300));
            return HttpResponse.Text("slow done");
        })
        .MapGet("/stream", (cx, r) => Task.FromResult(HttpResponse.Chunked(async (cx, w) =>
        {
            for (int i = 0; i < 5; i++) await w.WriteAsync(cx, $"part{i};");
        }, "text/plain")))
        .MapGet("/boom", (cx, r) => throw new InvalidOperationException("handler bug"));

    internal static async Task<ServerFixture> StartAsync(HttpServerOptions? options = null, VirtualNetworkOptions? vnet = null, HttpHandler? handler = null)
    {
        var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        if (vnet is not null) VirtualNetwork.Install(rt, vnet);
        var server = new HttpServer(handler ?? DefaultRouter(), options);
        var bound = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = new TaskCompletionSource<TaskHandle<Unit>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var root = rt.RunAsync(async cx =>
        {
            var serve = cx.Spawn("http", async cx =>
            {
                Asupersync.Net.TcpListener l;
                try
                {
                    l = await cx.TcpBindAsync("127.0.0.1:0");
                }
                catch (Exception e)
                {
                    bound.TrySetException(e);
                    throw;
                }
                bound.SetResult(l.LocalEndPoint);
                await server.ServeAsync(cx, l);
            });
            handle.SetResult(serve);
            await serve.JoinAsync(cx);
        });
        var ep = await bound.Task.WaitAsync(Bound);
        var h = await handle.Task.WaitAsync(Bound);
        return new ServerFixture(rt, server, ep, root, h, handle);
    }

    /// <summary>Cancels the serving task with a drain budget and waits for the root to close.</summary>
    internal async Task<Outcome<Unit>> StopAsync(TimeSpan? budget = null)
    {
        _serve.Cancel(Budget.Timeout(budget ?? TimeSpan.FromSeconds(5)), "test stop");
        return await Root.WaitAsync(Bound);
    }

    public async ValueTask DisposeAsync()
    {
        if (!Root.IsCompleted) await StopAsync();
        await Runtime.DisposeAsync();
    }

    /// <summary>Runs client code inside the fixture's runtime (for the Asupersync client and the virtual network).</summary>
    internal async Task<T> RunClient<T>(Func<Cx, Task<T>> body)
    {
        var o = await Runtime.RunAsync(body, "client").WaitAsync(Bound);
        return o.GetValueOrThrow();
    }
}

/// <summary>A raw socket client for hostile input (outside the runtime, like any real client).</summary>
internal static class RawClient
{
    internal sealed record Result(int? Status, string Text, bool Closed);

    /// <summary>Sends <paramref name="request"/>, then reads until the server closes or <paramref name="wait"/> passes.</summary>
    internal static async Task<Result> SendAsync(IPEndPoint ep, byte[] request, TimeSpan? wait = null, bool halfClose = false)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(ep);
        try
        {
            await s.SendAsync(request);
            if (halfClose) s.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // the server may already have answered and closed
        }
        return await ReadAllAsync(s, wait ?? TimeSpan.FromSeconds(3));
    }

    internal static async Task<Result> ReadAllAsync(Socket s, TimeSpan wait)
    {
        var ms = new MemoryStream();
        var buf = new byte[8192];
        bool closed = false;
        using var cts = new CancellationTokenSource(wait);
        try
        {
            while (true)
            {
                int n = await s.ReceiveAsync(buf, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    closed = true;
                    break;
                }
                ms.Write(buf, 0, n);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
            closed = true; // reset
        }
        var text = Encoding.Latin1.GetString(ms.ToArray());
        int? status = null;
        if (text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && text.Length >= 12 && int.TryParse(text.AsSpan(9, 3), out var st)) status = st;
        return new Result(status, text, closed);
    }

    internal static byte[] Ascii(string s) => Encoding.Latin1.GetBytes(s);
}
