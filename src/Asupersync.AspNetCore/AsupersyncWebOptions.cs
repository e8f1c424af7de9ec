namespace Asupersync.AspNetCore;

/// <summary>Settings of the ASP.NET Core bridge (<see cref="AsupersyncWebExtensions.AddAsupersync(Microsoft.Extensions.DependencyInjection.IServiceCollection, System.Action{AsupersyncWebOptions}?)"/>).</summary>
public sealed class AsupersyncWebOptions
{
    /// <summary>The runtime's settings (worker count, leak response, …).</summary>
    public RuntimeOptions Runtime { get; set; } = new();

    /// <summary>The application's root region name (default <c>"aspnetcore"</c>).</summary>
    public string RootName { get; set; } = "aspnetcore";

    /// <summary>
    /// A budget for each request region (default none): for example <c>Budget.Timeout(TimeSpan.FromSeconds(30))</c>
    /// cancels a request still running after 30 s with a Timeout reason (the response is then 503 if not started).
    /// </summary>
    public Budget RequestBudget { get; set; }

    /// <summary>
    /// An optional body run as a task of the root region beside the requests (background work that lives as long as
    /// the application); it is cancelled with the root at shutdown.
    /// </summary>
    public Func<Cx, IServiceProvider, Task>? Background { get; set; }
}
