namespace Asupersync.Macaroons;

/// <summary>
/// Raised where an effect happens when the capability tokens a <see cref="Cx"/> carries do not authorize it. The
/// message names the task, the resource and the failed caveat; it never contains key material.
/// </summary>
public sealed class CapabilityDeniedException : UnauthorizedAccessException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="taskName">The acting task.</param>
    /// <param name="resource">The resource the effect names.</param>
    /// <param name="verdict">The denial.</param>
    public CapabilityDeniedException(string taskName, string resource, VerificationResult verdict)
        : base($"Task '{taskName}' may not use '{resource}': {verdict?.Reason ?? "denied"}")
    {
        ArgumentNullException.ThrowIfNull(verdict);
        TaskName = taskName;
        Resource = resource;
        Verdict = verdict;
    }

    /// <summary>The acting task.</summary>
    public string TaskName { get; }

    /// <summary>The resource the effect names.</summary>
    public string Resource { get; }

    /// <summary>The denial (kind, reason, failed caveat).</summary>
    public VerificationResult Verdict { get; }

    /// <summary>The text of the caveat that failed, when one did.</summary>
    public string? FailedCaveat => Verdict.FailedCaveat;
}
