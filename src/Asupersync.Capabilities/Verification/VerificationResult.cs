namespace Asupersync.Macaroons;

/// <summary>Why a token was denied.</summary>
public enum DenialKind
{
    /// <summary>The token or a discharge does not parse, or is structurally unusable.</summary>
    Malformed,

    /// <summary>The verifier has no root key for the token's identifier (unknown or rotated away).</summary>
    UnknownRootKey,

    /// <summary>The signature chain does not match: a wrong key, or a caveat, identifier or signature byte was changed, removed or reordered.</summary>
    SignatureMismatch,

    /// <summary>A caveat's predicate does not hold in this context.</summary>
    CaveatNotSatisfied,

    /// <summary>A caveat the verifier has no checker for (fail closed).</summary>
    UnknownCaveat,

    /// <summary>A third-party caveat without a discharge macaroon.</summary>
    MissingDischarge,

    /// <summary>A discharge or third-party caveat that does not verify.</summary>
    InvalidDischarge,

    /// <summary>A <c>max-uses</c> or <c>rate-limit</c> caveat whose limit is reached.</summary>
    LimitReached,
}

/// <summary>The verdict of a verification: authorized, or denied with a reason that names the failed caveat and never contains key material.</summary>
public sealed class VerificationResult
{
    /// <summary>The single "authorized" verdict (verification allocates nothing on success).</summary>
    public static VerificationResult Authorized { get; } = new(true, null, null, null);

    private VerificationResult(bool authorized, DenialKind? kind, string? reason, string? caveat)
    {
        IsAuthorized = authorized;
        Kind = kind;
        Reason = reason;
        FailedCaveat = caveat;
    }

    /// <summary>A denial.</summary>
    /// <param name="kind">Why.</param>
    /// <param name="reason">A readable reason (no key material).</param>
    /// <param name="caveat">The caveat's text when a caveat failed, or null.</param>
    /// <returns>The verdict.</returns>
    public static VerificationResult Denied(DenialKind kind, string reason, string? caveat = null)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return new VerificationResult(false, kind, reason, caveat);
    }

    /// <summary>True when the token authorizes the operation.</summary>
    public bool IsAuthorized { get; }

    /// <summary>Why it was denied (null when authorized).</summary>
    public DenialKind? Kind { get; }

    /// <summary>The readable reason (null when authorized).</summary>
    public string? Reason { get; }

    /// <summary>The text of the caveat that failed, when one did.</summary>
    public string? FailedCaveat { get; }

    /// <inheritdoc />
    public override string ToString() => IsAuthorized ? "authorized" : $"denied ({Kind}): {Reason}";
}
