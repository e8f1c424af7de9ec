namespace Asupersync.Macaroons;

/// <summary>The serialization formats of libmacaroons and pymacaroons.</summary>
public enum MacaroonFormat
{
    /// <summary>
    /// Binary v1: packets <c>"%04x" length ‖ key ‖ ' ' ‖ value ‖ '\n'</c> with keys <c>location</c>, <c>identifier</c>,
    /// <c>cid</c>, <c>vid</c>, <c>cl</c>, <c>signature</c>; as text, URL-safe base64 without padding.
    /// </summary>
    BinaryV1,

    /// <summary>
    /// Binary v2: a version byte 2, then fields <c>type (varint) ‖ length (varint) ‖ bytes</c> (location 1,
    /// identifier 2, vid 4, signature 6) in sections ended by a zero byte; as text, URL-safe base64 without padding.
    /// </summary>
    BinaryV2,

    /// <summary>JSON v1: <c>{"location","identifier","caveats":[{"cid","vid","cl"}],"signature": hex}</c>.</summary>
    JsonV1,

    /// <summary>JSON v2: <c>{"v":2,"l","i"/"i64","c":[{"i"/"i64","v64","l"}],"s64"}</c>.</summary>
    JsonV2,
}

/// <summary>A token (or a packet of one) that does not parse, or a token that a format cannot represent.</summary>
public sealed class MacaroonFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong (never key material).</param>
    public MacaroonFormatException(string message)
        : base(message)
    {
    }
}
