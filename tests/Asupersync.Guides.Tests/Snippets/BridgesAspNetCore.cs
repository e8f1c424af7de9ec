using Asupersync;
using Asupersync.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Asupersync.Guides.Snippets;

public static class BridgesAspNetCore
{
    /// <summary>The bridges guide's minimal API (built, not run: <see cref="Build"/> is what the tests start).</summary>
    public static void Run(string[] args)
    {
        // <snippet bridges-aspnetcore>
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddAsupersync(o => o.RequestBudget = Budget.Timeout(TimeSpan.FromSeconds(30)));
        var app = builder.Build();
        app.UseAsupersync();                                   // before the endpoints
        app.MapGet("/orders/{id}", async (Cx cx, int id) =>    // Cx is bound like a service
        {
            await cx.SleepAsync(TimeSpan.FromMilliseconds(5)); // every runtime await is a checkpoint
            return Results.Ok(id);
        });
        app.Run();
        // </snippet>
    }
}
