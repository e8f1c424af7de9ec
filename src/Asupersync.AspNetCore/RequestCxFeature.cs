namespace Asupersync.AspNetCore;

/// <summary>The request's Cx as an HTTP feature (<see cref="AsupersyncWebExtensions.GetCx"/>).</summary>
public interface IRequestCxFeature
{
    /// <summary>The Cx of the request region's main task (the task that runs the rest of the pipeline).</summary>
    Cx Cx { get; }
}

internal sealed class RequestCxFeature(Cx cx) : IRequestCxFeature
{
    public Cx Cx { get; } = cx;
}
