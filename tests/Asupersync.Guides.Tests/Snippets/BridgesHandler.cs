using Asupersync;
using Asupersync.Extensions;

namespace Asupersync.Guides.Snippets;

public static class BridgesHandler
{
    public static async Task<int> HandlerAsync(Cx cx, Uri rates)
    {
        // <snippet bridges-httpclient-handler>
        using var client = new HttpClient(new CxHttpHandler()) { BaseAddress = rates };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/rates").WithCx(cx);
        using var response = await cx.AwaitAsync(client.SendAsync(request, cx.CancellationToken));
        // </snippet>
        return (int)response.StatusCode;
    }
}
