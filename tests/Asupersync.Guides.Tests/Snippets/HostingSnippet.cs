using Asupersync;
using Asupersync.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Asupersync.Guides.Snippets;

public static class HostingSnippet
{
    // <snippet hosting>
    public static IHost BuildHost(string[] args, Func<Cx, Task> worker)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddAsupersync(async (cx, services) =>
        {
            var w = cx.Spawn("worker", worker);
            await cx.ShutdownSignalAsync();                         // the host is stopping
            w.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)));      // drain within the host's shutdown timeout
        });
        return builder.Build();
    }
    // </snippet>
}
