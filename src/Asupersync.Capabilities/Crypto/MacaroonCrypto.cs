using System.Security.Cryptography;

namespace Asupersync.Macaroons.Crypto;

/// <summary>
/// The macaroon construction (Birgisson et al., NDSS 2014) exactly as libmacaroons and pymacaroons compute it, so
/// that signatures agree byte for byte:
/// <list type="bullet">
/// <item>root key derivation: <c>k = HMAC-SHA256(key: "macaroons-key-generator", data: rootKey)</c>;</item>
/// <item>minting: <c>sig₀ = HMAC(k, identifier)</c>;</item>
/// <item>a first-party caveat <c>c</c>: <c>sigᵢ = HMAC(sigᵢ₋₁, c)</c>;</item>
/// <item>a third-party caveat with verification id <c>vid</c> and caveat id <c>cid</c>:
/// <c>sigᵢ = HMAC(sigᵢ₋₁, HMAC(sigᵢ₋₁, vid) ‖ HMAC(sigᵢ₋₁, cid))</c>, where <c>vid = nonce ‖ secretbox(sigᵢ₋₁, derive(caveatKey))</c>;</item>
/// <item>binding a discharge <c>d</c> to the authorizing token <c>m</c>:
/// <c>HMAC(0³², HMAC(0³², m.sig) ‖ HMAC(0³², d.sig))</c>.</item>
/// </list>
/// </summary>
internal static class MacaroonCrypto
{
    internal const int SignatureLength = 32;

    private static ReadOnlySpan<byte> KeyGenerator => "macaroons-key-generator"u8;

    private static readonly byte[] s_zeroKey = new byte[SignatureLength];

    /// <summary>Derives the HMAC key from a root key of any length, as libmacaroons and pymacaroons do.</summary>
    internal static void DeriveKey(ReadOnlySpan<byte> rootKey, Span<byte> derived) =>
        HMACSHA256.HashData(KeyGenerator, rootKey, derived);

    /// <summary><c>HMAC-SHA256(key, data)</c> into <paramref name="destination"/> (which must not overlap the inputs).</summary>
    internal static void Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination) =>
        HMACSHA256.HashData(key, data, destination);

    /// <summary>The two-input hash both libraries use: <c>HMAC(key, HMAC(key, a) ‖ HMAC(key, b))</c>.</summary>
    internal static void Hmac2(ReadOnlySpan<byte> key, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> destination)
    {
        Span<byte> both = stackalloc byte[2 * SignatureLength];
        HMACSHA256.HashData(key, a, both[..SignatureLength]);
        HMACSHA256.HashData(key, b, both[SignatureLength..]);
        HMACSHA256.HashData(key, both, destination);
    }

    /// <summary>Binds a discharge's signature to the authorizing token's signature.</summary>
    internal static void Bind(ReadOnlySpan<byte> authorizingSignature, ReadOnlySpan<byte> dischargeSignature, Span<byte> destination) =>
        Hmac2(s_zeroKey, authorizingSignature, dischargeSignature, destination);

    /// <summary>Signs the next caveat of a chain: first-party when <paramref name="vid"/> is empty.</summary>
    internal static void Chain(ReadOnlySpan<byte> previous, ReadOnlySpan<byte> cid, ReadOnlySpan<byte> vid, bool thirdParty, Span<byte> destination)
    {
        if (thirdParty) Hmac2(previous, vid, cid, destination);
        else Hmac(previous, cid, destination);
    }
}
