using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Asupersync.Hosting;

/// <summary>Registers an Asupersync root region as a hosted service.</summary>
public static class AsupersyncServiceCollectionExtensions
{
    /// <summary>
    /// Runs <paramref name="body"/> as the root region of an Asupersync runtime for the lifetime of the host.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="body">The root body: it receives the root Cx and the host's services.</param>
    /// <param name="configure">Optional settings.</param>
    /// <returns>The service collection.</returns>
    /// <example>
    /// <code>
    /// builder.Services.AddAsupersync(async (cx, services) =>
    /// {
    ///     cx.Spawn("worker", cx => RunWorkerAsync(cx, services));
    ///     await cx.ShutdownSignalAsync();   // the host is stopping
    ///     cx.CancelRegion("host stopping", Budget.Timeout(TimeSpan.FromSeconds(5)));
    /// });
    /// </code>
    /// </example>
    public static IServiceCollection AddAsupersync(this IServiceCollection services, Func<Cx, IServiceProvider, Task> body, Action<AsupersyncHostOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(body);
        var options = new AsupersyncHostOptions();
        configure?.Invoke(options);
        services.TryAddSingleton(sp => new AsupersyncHostedService(
            body,
            options,
            sp,
            sp.GetRequiredService<ILogger<AsupersyncHostedService>>(),
            sp.GetService<IHostApplicationLifetime>()));
        services.AddHostedService(sp => sp.GetRequiredService<AsupersyncHostedService>());
        return services;
    }
}
