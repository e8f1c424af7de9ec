using System.Text;
using Asupersync.Http;
using Asupersync.Macaroons.Http;
using Asupersync.Net;

namespace Asupersync.Macaroons.Tests;

/// <summary>The bearer-token middleware and route enforcement, over real loopback sockets.</summary>
public class HttpAuthorizationTests
{
    private static readonly byte[] s_key = Encoding.UTF8.GetBytes("http middleware root key");

    private static Macaroon Token(params Caveat[] caveats) => Macaroon.Create(s_key, "orders-key", "http://orders/").Attenuate(caveats);

    /// <summary>Serves <paramref name="handler"/> on 127.0.0.1 (ephemeral port) from <paramref name="serverCx"/>'s Cx, runs the client, stops.</summary>
    private static async Task<T> WithServerAsync<T>(HttpHandler handler, Func<Cx, HttpClientConnection, Task<T>> client, Func<Cx, Cx>? serverCx = null)
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var o = await rt.RunAsync(async cx =>
        {
            var listener = await cx.TcpBindAsync("127.0.0.1:0");
            var server = new HttpServer(handler);
            var serve = cx.Spawn("http", async c =>
            {
                await using (listener) await server.ServeAsync((serverCx ?? (x => x))(c), listener);
            });
            try
            {
                await using var conn = await HttpClientConnection.ConnectAsync(cx, listener.LocalEndPoint.ToString());
                return await client(cx, conn);
            }
            finally
            {
                serve.Cancel();
                await serve.JoinAsync(cx);
            }
        }).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(o.IsOk, o.ToString());
        return o.Value;
    }

    private static HttpHeaders Bearer(string value) => new HttpHeaders().Add("Authorization", "Bearer " + value);

    private static HttpRouter Routes(MacaroonAuthorization auth) => new HttpRouter()
        .MapGet("/orders/42", auth.Protect((cx, r) => Task.FromResult(HttpResponse.Text("order 42"))))
        .MapPost("/orders/42", auth.Protect((cx, r) => Task.FromResult(HttpResponse.Text("updated"))))
        .MapGet("/public", (cx, r) => Task.FromResult(HttpResponse.Text("hello")));

    [Fact]
    public async Task Bearer_AuthorizesWithinScope_AndExplainsEveryDenial()
    {
        var auth = new MacaroonAuthorization(new MacaroonVerifier(s_key).AddCustom("client", (v, c) => c.Facts!["client"] == v));
        var readOnly = Token(Caveat.ResourceScope("http:GET:/orders/*"), Caveat.Custom("client", "127.0.0.1"));
        var forged = Macaroon.Create(Encoding.UTF8.GetBytes("not our key"), "orders-key").Attenuate(Caveat.ResourceScope("http:**"));
        var results = await WithServerAsync(Routes(auth), async (cx, c) =>
        {
            var list = new List<HttpClientResponse>
            {
                await c.SendAsync(cx, "GET", "/orders/42", headers: Bearer(readOnly.Serialize(MacaroonFormat.BinaryV2))),
                await c.SendAsync(cx, "GET", "/orders/42", headers: Bearer(readOnly.Serialize(MacaroonFormat.JsonV1))),
                await c.SendAsync(cx, "POST", "/orders/42", headers: Bearer(readOnly.Serialize())),
                await c.SendAsync(cx, "GET", "/orders/42"),
                await c.SendAsync(cx, "GET", "/orders/42", headers: new HttpHeaders().Add("Authorization", "Basic dXNlcjpwYXNz")),
                await c.SendAsync(cx, "GET", "/orders/42", headers: Bearer("not a macaroon!")),
                await c.SendAsync(cx, "GET", "/orders/42", headers: Bearer(forged.Serialize())),
                await c.SendAsync(cx, "GET", "/public"),
                await c.SendAsync(cx, "GET", "/orders/42", headers: Bearer("[" + readOnly.Serialize(MacaroonFormat.JsonV2) + "]")),
                await c.SendAsync(cx, "GET", "/orders/42", headers: Bearer("[{\"broken\"")),
            };
            return list;
        });
        Assert.Equal([200, 200, 403, 401, 401, 401, 401, 200, 200, 401], results.Select(r => r.Status));
        Assert.Equal("order 42", results[0].BodyText());
        Assert.Contains("resource-scope http:GET:/orders/*", results[2].BodyText(), StringComparison.Ordinal);
        Assert.Contains("error=\"insufficient_scope\"", results[2].Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Equal("Bearer realm=\"asupersync\"", results[3].Headers["WWW-Authenticate"]);
        Assert.Contains("error=\"invalid_token\"", results[5].Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Contains("signature does not match", results[6].BodyText(), StringComparison.Ordinal);
        foreach (var r in results)
        {
            var everything = r.BodyText() + string.Join("\n", r.Headers.Select(h => h.Value));
            foreach (var secret in new[] { Convert.ToHexStringLower(readOnly.Signature.Span), Convert.ToHexStringLower(forged.Signature.Span), Encoding.UTF8.GetString(s_key) })
                Assert.DoesNotContain(secret, everything, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Bearer_WithDischarges_AndUseLimits()
    {
        var authKey = Encoding.UTF8.GetBytes("auth service key");
        var token = Token(Caveat.ResourceScope("http:GET:/orders/*"), Caveat.MaxUses(2))
            .AddThirdPartyCaveat("http://auth/", authKey, "user = alice"u8, new byte[24]);
        var discharge = Macaroon.Create(authKey, "user = alice", "http://auth/");
        var auth = new MacaroonAuthorization(new MacaroonVerifier(s_key));
        var statuses = await WithServerAsync(Routes(auth), async (cx, c) =>
        {
            var full = token.Serialize() + "," + token.BindDischarge(discharge).Serialize();
            var unbound = token.Serialize() + "," + discharge.Serialize();
            var s = new List<int>
            {
                (await c.SendAsync(cx, "GET", "/orders/42", headers: Bearer(token.Serialize()))).Status,   // missing discharge
                (await c.SendAsync(cx, "GET", "/orders/42", headers: Bearer(unbound))).Status,             // unbound discharge
                (await c.SendAsync(cx, "GET", "/orders/42", headers: Bearer(full))).Status,
                (await c.SendAsync(cx, "GET", "/orders/42", headers: Bearer(full))).Status,
                (await c.SendAsync(cx, "GET", "/orders/42", headers: Bearer(full))).Status,                // max-uses 2 spent
            };
            return s;
        });
        Assert.Equal([401, 401, 200, 200, 403], statuses);
    }

    [Fact]
    public async Task AGovernedServer_ServesOnlyTheRoutesItsTokenAllows()
    {
        var router = new HttpRouter()
            .MapGet("/public/page", (cx, r) => Task.FromResult(HttpResponse.Text("page")))
            .MapGet("/admin", (cx, r) => Task.FromResult(HttpResponse.Text("secret")));
        var token = Token(Caveat.ResourceScope("http:GET:/public/*"));
        var results = await WithServerAsync(router, async (cx, c) =>
            (await c.SendAsync(cx, "GET", "/public/page"), await c.SendAsync(cx, "GET", "/admin")),
            serverCx: c => c.WithCapability(new MacaroonVerifier(s_key), token));
        Assert.Equal(200, results.Item1.Status);
        Assert.Equal(403, results.Item2.Status);
        Assert.Contains("may not use 'http:GET:/admin'", results.Item2.BodyText(), StringComparison.Ordinal);
        Assert.DoesNotContain("secret", results.Item2.BodyText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AttachToHandler_ChecksTheHandlersOwnEffectsAgainstTheCallersToken()
    {
        var auth = new MacaroonAuthorization(new MacaroonVerifier(s_key), new MacaroonAuthorizationOptions { AttachToHandler = true });
        var router = new HttpRouter().MapGet("/report", auth.Protect((cx, r) =>
        {
            var v = cx.TryDemand("app:reports:" + r.Query);
            return Task.FromResult(HttpResponse.Text(v.IsAuthorized ? "ok" : "denied: " + v.FailedCaveat));
        }));
        var token = Token(Caveat.ResourceScope("http:GET:/report", "app:reports:read"));
        var bodies = await WithServerAsync(router, async (cx, c) =>
            ((await c.SendAsync(cx, "GET", "/report?read", headers: Bearer(token.Serialize()))).BodyText(),
             (await c.SendAsync(cx, "GET", "/report?write", headers: Bearer(token.Serialize()))).BodyText()));
        Assert.Equal("ok", bodies.Item1);
        Assert.Equal("denied: resource-scope http:GET:/report app:reports:read", bodies.Item2);
    }
}
