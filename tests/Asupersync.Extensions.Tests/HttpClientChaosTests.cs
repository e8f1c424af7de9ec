using System.Net;
using Asupersync.Extensions;
using Asupersync.Lab;
using Asupersync.Lab.Chaos;

namespace Asupersync.Extensions.Tests;

/// <summary>The HttpClient bridge under the Lab's IoOp chaos: an injected failure comes before the request is sent.</summary>
public sealed class HttpClientChaosTests
{
    private sealed class CountingHandler : HttpMessageHandler
    {
        public int Sent;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Sent++;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("rates") });
        }
    }

    private static (LabRunResult Run, int Sent, int Failed, int Ok) RunOnce(ulong seed, double p)
    {
        var handler = new CountingHandler();
        int failed = 0, ok = 0;
        var r = LabRuntime.Run(seed, async cx =>
        {
            using var client = new HttpClient(handler) { BaseAddress = new Uri("http://rates.test/") };
            for (int i = 0; i < 10; i++)
            {
                try
                {
                    using var response = await cx.SendAsync(client, new HttpRequestMessage(HttpMethod.Get, "/rates"));
                    ok++;
                }
                catch (HttpRequestException e) when (e.InnerException is IOException) { failed++; }
            }
        }, new LabOptions { Chaos = ChaosOptions.None with { IoOpFailureProbability = p } });
        return (r, handler.Sent, failed, ok);
    }

    [Fact]
    public void InjectedFailures_AreNotSent_AndAbortTheObligation()
    {
        var (r, sent, failed, ok) = RunOnce(7, 0.5);
        Assert.True(r.Passed, r.Describe());
        Assert.True(failed > 0 && ok > 0, $"failed {failed}, ok {ok}");
        Assert.Equal(ok, sent);                                   // a failed request never reached the handler
        int aborted = r.Trace.Events.Count(e => e.Kind == LabEventKind.Obligation && (ObligationState)e.Code == ObligationState.Aborted);
        int injected = r.Trace.Events.Count(e => e.Kind == LabEventKind.ChaosIoFault && e.Code == 6);
        Assert.Equal(failed, injected);
        Assert.Equal(failed, aborted);
    }

    [Fact]
    public void WithoutIoOpChaos_EveryRequestIsSent()
    {
        var (r, sent, failed, ok) = RunOnce(7, 0);
        Assert.True(r.Passed, r.Describe());
        Assert.Equal((10, 0, 10), (sent, failed, ok));
    }
}
