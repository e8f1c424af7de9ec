using System.Text;
using Asupersync.Http;
using Asupersync.Macaroons.Http;
using Asupersync.Net;

namespace Asupersync.Macaroons.Tests;

/// <summary>The worked example of docs/CAPABILITIES.md, run end to end (orders service, worker task, billing, auth).</summary>
public class WorkedExampleTests
{
    [Fact]
    public async Task OrdersService_DelegatesToAWorkerTask_AndToTheBillingService()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var o = await rt.RunAsync(async cx =>
        {
            // --- the orders service
            byte[] rootKey = MacaroonKeys.GenerateRootKey();
            var keys = new Dictionary<string, byte[]> { ["orders-2026-07"] = rootKey };
            var verifier = new MacaroonVerifier(id => keys.GetValueOrDefault(Encoding.UTF8.GetString(id.Span)));
            var now = cx.UtcNow;
            var master = Macaroon.Create(rootKey, "orders-2026-07", "https://orders.internal/")
                .Add(Caveat.ResourceScope("orders:**", "http:*:/orders/**"))
                .Add(Caveat.TimeBefore(now.AddDays(1)));
            var service = cx.WithCapability(verifier, master);

            // 1. the worker task
            var worker = service.Spawn("report-worker", w =>
            {
                // Rate windows are aligned seconds of the runtime's clock: note how many boundaries the tries straddle
                // (a loaded machine can stall the loop across more than one).
                long firstWindow = w.UtcNow.UtcTicks / TimeSpan.TicksPerSecond;
                w.Demand("orders:read:42");
                var denied = Assert.Throws<CapabilityDeniedException>(() => w.Demand("orders:write:42"));
                int reads = Enumerable.Range(0, 30).Count(_ => w.TryDemand("orders:read:7").IsAuthorized);
                long crossed = w.UtcNow.UtcTicks / TimeSpan.TicksPerSecond - firstWindow;
                return Task.FromResult((denied.FailedCaveat, reads, crossed, w.Tokens()[0].Caveats.Count));
            }, attenuate: t => t
                .Add(Caveat.ResourceScope("orders:read:*"))
                .Add(Caveat.TimeBefore(now.AddMinutes(5)))
                .Add(Caveat.RateLimit(10, TimeSpan.FromSeconds(1))));
            var (failed, reads, crossed, caveats) = await worker.ValueAsync(cx);
            Assert.Equal("resource-scope orders:read:*", failed);
            // 10 per aligned second, one already spent: exactly 9 within one second; each boundary crossed adds at most 10.
            if (crossed == 0) Assert.Equal(9, reads);
            else Assert.InRange(reads, 9, Math.Min(30, 9 + 10 * crossed));
            Assert.Equal(5, caveats);
            service.Demand("orders:write:42"); // the service's own token is unchanged

            // 2. the billing service's token, with a third-party caveat for the auth service
            byte[] caveatKey = MacaroonKeys.GenerateRootKey();
            var forBilling = master
                .Add(Caveat.ResourceScope("http:GET:/orders/*"))
                .Add(Caveat.TimeBefore(now.AddHours(1)))
                .Add(Caveat.RateLimit(100, TimeSpan.FromMinutes(1)))
                .AddThirdPartyCaveat(cx, "https://auth.internal/", caveatKey, "caller = billing-bot");
            string sent = forBilling.Serialize();

            // --- the auth service
            var discharge = Macaroon.Create(caveatKey, "caller = billing-bot", "https://auth.internal/")
                .Add(Caveat.TimeBefore(now.AddMinutes(10)));

            // --- the orders API
            var auth = new MacaroonAuthorization(verifier);
            var router = new HttpRouter()
                .MapGet("/orders/42", auth.Protect((c, req) => Task.FromResult(HttpResponse.Text("order 42"))))
                .MapPost("/orders/42", auth.Protect((c, req) => Task.FromResult(HttpResponse.Text("updated"))));
            var listener = await cx.TcpBindAsync("127.0.0.1:0");
            var server = new HttpServer(router);
            var serve = cx.Spawn("orders-api", async c => { await using (listener) await server.ServeAsync(c, listener); });

            // --- the billing service
            var token = Macaroon.Parse(sent);
            var bearer = token.Serialize() + "," + token.BindDischarge(discharge).Serialize();
            var results = new List<(int, string)>();
            await using (var http = await HttpClientConnection.ConnectAsync(cx, listener.LocalEndPoint.ToString()))
            {
                HttpHeaders H(string b) => new HttpHeaders().Add("Authorization", "Bearer " + b);
                foreach (var (method, b) in new[] { ("GET", bearer), ("POST", bearer), ("GET", token.Serialize()) })
                {
                    var r = await http.SendAsync(cx, method, "/orders/42", headers: H(b));
                    results.Add((r.Status, r.BodyText()));
                }
                // Rotating the key out revokes the master token and every delegation.
                keys.Remove("orders-2026-07");
                var revoked = await http.SendAsync(cx, "GET", "/orders/42", headers: H(bearer));
                results.Add((revoked.Status, revoked.BodyText()));
            }
            serve.Cancel();
            await serve.JoinAsync(cx);
            return results;
        }).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(o.IsOk, o.ToString());
        var res = o.Value;
        Assert.Equal((200, "order 42"), res[0]);
        Assert.Equal(403, res[1].Item1);
        Assert.Contains("caveat 'resource-scope http:GET:/orders/*' not satisfied", res[1].Item2, StringComparison.Ordinal);
        Assert.Equal(401, res[2].Item1);
        Assert.Contains("no discharge", res[2].Item2, StringComparison.Ordinal);
        Assert.Equal(401, res[3].Item1);
        Assert.Contains("no root key for identifier 'orders-2026-07'", res[3].Item2, StringComparison.Ordinal);
    }
}
