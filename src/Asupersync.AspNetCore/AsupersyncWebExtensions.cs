using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using HostingExtensions = Asupersync.Hosting.AsupersyncServiceCollectionExtensions;

namespace Asupersync.AspNetCore;

/// <summary>Wires Asupersync into an ASP.NET Core application: <c>AddAsupersync()</c> on the services, <c>UseAsupersync()</c> in the pipeline.</summary>
/// <example>
/// <code>
/// var builder = WebApplication.CreateBuilder(args);
/// builder.Services.AddAsupersync();
/// var app = builder.Build();
/// app.UseAsupersync();
/// app.MapGet("/orders/{id}", async (Cx cx, int id) =>
/// {
///     await cx.SleepAsync(TimeSpan.FromMilliseconds(10));   // a checkpoint: a client abort cancels here
///     return Results.Ok(id);
/// });
/// app.Run();
/// </code>
/// </example>
public static class AsupersyncWebExtensions
{
    /// <summary>
    /// Runs an Asupersync runtime for the application's lifetime (a hosted service; see
    /// <see cref="Hosting.AsupersyncHostedService"/>) whose root region owns every request region, and makes
    /// <see cref="Cx"/> injectable into endpoint handlers (it is the request region's main task's Cx).
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Optional settings.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddAsupersync(this IServiceCollection services, Action<AsupersyncWebOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new AsupersyncWebOptions();
        configure?.Invoke(options);
        services.TryAddSingleton(options);
        services.TryAddSingleton<RequestDispatcher>();
        services.TryAddScoped<RequestCxHolder>();
        services.TryAddScoped(sp => sp.GetRequiredService<RequestCxHolder>().Cx
            ?? throw new InvalidOperationException("No request Cx in this scope: a Cx parameter needs app.UseAsupersync() before the endpoint runs, and the request's own service scope."));
        HostingExtensions.AddAsupersync(services, (cx, sp) => sp.GetRequiredService<RequestDispatcher>().RunRootAsync(cx, sp), o =>
        {
            o.Runtime = options.Runtime;
            o.RootName = options.RootName;
        });
        return services;
    }

    /// <summary>
    /// Runs the rest of the pipeline (put it before the endpoints, after nothing that needs the request's Cx) in a
    /// request region: a child region of the application's root, whose main task runs the endpoint. The response
    /// completes after the region closed — every task the handler spawned finished (they are awaited, not cancelled;
    /// cancel them yourself or give the region a <see cref="AsupersyncWebOptions.RequestBudget"/>).
    /// <c>HttpContext.RequestAborted</c> cancels the request task with a <see cref="CancelKind.ResourceUnavailable"/>
    /// "client gone" reason (the handler sees it as the cause of its ParentCancelled reason). A request cancelled
    /// before its response started gets 503.
    /// </summary>
    /// <param name="app">The application's pipeline.</param>
    /// <returns>The pipeline.</returns>
    /// <exception cref="InvalidOperationException"><see cref="AddAsupersync"/> was not called.</exception>
    public static IApplicationBuilder UseAsupersync(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<RequestDispatcher>() is null)
            throw new InvalidOperationException("UseAsupersync() needs builder.Services.AddAsupersync() first.");
        return app.UseMiddleware<AsupersyncMiddleware>();
    }

    /// <summary>The Cx of the request region's main task (for middleware and controllers; endpoint handlers can take a <see cref="Cx"/> parameter).</summary>
    /// <param name="context">The request.</param>
    /// <returns>The request's Cx.</returns>
    /// <exception cref="InvalidOperationException">The request does not run under <see cref="UseAsupersync"/>.</exception>
    public static Cx GetCx(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<IRequestCxFeature>()?.Cx
            ?? throw new InvalidOperationException("This request does not run in an Asupersync request region: add app.UseAsupersync() before it.");
    }

    /// <summary>True when <paramref name="reason"/> (or a reason in its cause chain) is the client-gone cancel of a request.</summary>
    /// <param name="reason">A cancel reason, typically <c>cx.CancelReason</c>.</param>
    /// <returns>Whether the client went away.</returns>
    public static bool IsClientGone(this CancelReason? reason)
    {
        for (var r = reason; r is not null; r = r.Cause)
            if (r.Kind == CancelKind.ResourceUnavailable && r.Message == RequestDispatcher.ClientGoneMessage) return true;
        return false;
    }
}
