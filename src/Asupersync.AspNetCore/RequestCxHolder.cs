namespace Asupersync.AspNetCore;

/// <summary>The request's Cx, kept in the request's service scope so that handlers can take a <see cref="Cx"/> parameter.</summary>
internal sealed class RequestCxHolder
{
    public Cx? Cx { get; set; }
}
