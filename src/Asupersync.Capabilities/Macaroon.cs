using System.Security.Cryptography;
using System.Text;
using Asupersync.Macaroons.Crypto;
using Asupersync.Macaroons.Formats;

namespace Asupersync.Macaroons;

/// <summary>
/// A macaroon: an attenuable bearer token (Birgisson et al., NDSS 2014). It has a location hint, an identifier
/// (which tells the minting service which root key signed it), a chain of caveats and an HMAC-SHA256 signature
/// chained over the identifier and every caveat. Anyone holding a macaroon can add caveats (each returns a new
/// token whose signature is the HMAC of the old signature and the caveat); nobody without the root key can remove
/// one, because that would need the signature of the shorter chain.
/// </summary>
/// <remarks>
/// <para>Immutable and thread-safe. The signature is the bearer secret of the token: anyone who sees it can use the
/// token (and derive narrower ones), so <see cref="ToString"/> and <see cref="Inspect"/> never print it.</para>
/// <para>Signatures, key derivation, third-party caveats and discharge binding are byte-for-byte those of libmacaroons
/// and pymacaroons, and the four serializations of <see cref="MacaroonFormat"/> are theirs (tested against
/// pymacaroons).</para>
/// </remarks>
/// <example><code>
/// var token = Macaroon.Create(rootKey, identifier: "key-2026-07", location: "https://orders.internal/")
///     .Add(Caveat.ResourceScope("http:GET:/orders/*"))
///     .Add(Caveat.TimeBefore(new DateTimeOffset(2026, 12, 31, 0, 0, 0, TimeSpan.Zero)));
/// string wire = token.Serialize(MacaroonFormat.BinaryV2);
/// </code></example>
public sealed class Macaroon
{
    private readonly byte[] _identifier;
    private readonly MacaroonCaveat[] _caveats;
    private readonly byte[] _signature;

    internal Macaroon(string location, byte[] identifier, MacaroonCaveat[] caveats, byte[] signature)
    {
        Location = location;
        _identifier = identifier;
        _caveats = caveats;
        _signature = signature;
    }

    /// <summary>The location hint (not covered by the signature; may be empty).</summary>
    public string Location { get; }

    /// <summary>The identifier (covered by the signature).</summary>
    public ReadOnlyMemory<byte> Identifier => _identifier;

    /// <summary>The identifier as text, or null when it is not valid UTF-8.</summary>
    public string? IdentifierText => Utf8.TryDecode(_identifier);

    /// <summary>The caveats, in chain order.</summary>
    public IReadOnlyList<MacaroonCaveat> Caveats => _caveats;

    /// <summary>The 32-byte signature: the bearer secret of this token.</summary>
    public ReadOnlyMemory<byte> Signature => _signature;

    internal ReadOnlySpan<byte> IdentifierSpan => _identifier;

    internal byte[] IdentifierArray => _identifier;

    internal ReadOnlySpan<byte> SignatureSpan => _signature;

    internal MacaroonCaveat[] CaveatArray => _caveats;

    // ---------------------------------------------------------------- minting

    /// <summary>Mints a token: <c>signature = HMAC(derive(rootKey), identifier)</c>, with the key derived as libmacaroons and pymacaroons do.</summary>
    /// <param name="rootKey">The root key (any length; 32 random bytes from <see cref="MacaroonKeys.GenerateRootKey"/> recommended).</param>
    /// <param name="identifier">The identifier, UTF-8 (tells the verifier which root key to use).</param>
    /// <param name="location">The location hint.</param>
    /// <returns>The token.</returns>
    public static Macaroon Create(ReadOnlySpan<byte> rootKey, string identifier, string location = "")
    {
        ArgumentNullException.ThrowIfNull(identifier);
        return Create(rootKey, Encoding.UTF8.GetBytes(identifier), location);
    }

    /// <summary>Mints a token with a binary identifier.</summary>
    /// <param name="rootKey">The root key.</param>
    /// <param name="identifier">The identifier bytes.</param>
    /// <param name="location">The location hint.</param>
    /// <returns>The token.</returns>
    public static Macaroon Create(ReadOnlySpan<byte> rootKey, ReadOnlySpan<byte> identifier, string location = "")
    {
        ArgumentNullException.ThrowIfNull(location);
        Span<byte> derived = stackalloc byte[MacaroonCrypto.SignatureLength];
        MacaroonCrypto.DeriveKey(rootKey, derived);
        var m = CreateWithDerivedKey(derived, identifier, location);
        CryptographicOperations.ZeroMemory(derived);
        return m;
    }

    internal static Macaroon CreateWithDerivedKey(ReadOnlySpan<byte> derivedKey, ReadOnlySpan<byte> identifier, string location)
    {
        var sig = new byte[MacaroonCrypto.SignatureLength];
        MacaroonCrypto.Hmac(derivedKey, identifier, sig);
        return new Macaroon(location, identifier.ToArray(), [], sig);
    }

    // ---------------------------------------------------------------- attenuation

    /// <summary>Adds a built-in first-party caveat (its textual form is the caveat id). A pure function: this token is unchanged.</summary>
    /// <param name="caveat">The predicate.</param>
    /// <returns>The narrower token.</returns>
    public Macaroon Add(Caveat caveat)
    {
        ArgumentNullException.ThrowIfNull(caveat);
        return AddFirstPartyCaveat(caveat.ToString());
    }

    /// <summary>Adds several built-in first-party caveats in order.</summary>
    /// <param name="caveats">The predicates.</param>
    /// <returns>The narrower token.</returns>
    public Macaroon Attenuate(params ReadOnlySpan<Caveat> caveats)
    {
        var m = this;
        foreach (var c in caveats) m = m.Add(c);
        return m;
    }

    /// <summary>Adds a first-party caveat with an arbitrary predicate (for example <c>"account = 3735928559"</c>). A pure function.</summary>
    /// <param name="predicate">The predicate text (UTF-8).</param>
    /// <returns>The narrower token.</returns>
    public Macaroon AddFirstPartyCaveat(string predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return AddFirstPartyCaveat(Encoding.UTF8.GetBytes(predicate));
    }

    /// <summary>Adds a first-party caveat with a binary predicate. A pure function.</summary>
    /// <param name="predicate">The predicate bytes (non-empty).</param>
    /// <returns>The narrower token.</returns>
    public Macaroon AddFirstPartyCaveat(ReadOnlySpan<byte> predicate)
    {
        if (predicate.IsEmpty) throw new ArgumentException("A caveat predicate is not empty.", nameof(predicate));
        var id = predicate.ToArray();
        var sig = new byte[MacaroonCrypto.SignatureLength];
        MacaroonCrypto.Hmac(_signature, id, sig);
        return new Macaroon(Location, _identifier, [.. _caveats, new MacaroonCaveat(id, null, null)], sig);
    }

    /// <summary>
    /// Adds a third-party caveat: the token is then valid only together with a discharge macaroon minted by the
    /// third party from <paramref name="caveatKey"/> under <paramref name="caveatId"/> (and bound to this token with
    /// <see cref="BindDischarge"/>). The third party learns the key from <paramref name="caveatId"/> (for example the
    /// key and the predicate encrypted to its public key, or a handle into a store both share); this service never
    /// shares its root key.
    /// </summary>
    /// <param name="location">Where the third party lives (a hint for the client).</param>
    /// <param name="caveatKey">A fresh random key for this caveat only.</param>
    /// <param name="caveatId">The caveat identifier the third party understands.</param>
    /// <param name="nonce">24 unique bytes for the secretbox that encrypts the caveat key under the chain signature.</param>
    /// <returns>The narrower token.</returns>
    public Macaroon AddThirdPartyCaveat(string location, ReadOnlySpan<byte> caveatKey, ReadOnlySpan<byte> caveatId, ReadOnlySpan<byte> nonce)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (caveatId.IsEmpty) throw new ArgumentException("A caveat id is not empty.", nameof(caveatId));
        if (nonce.Length != SecretBox.NonceLength) throw new ArgumentException("The nonce is 24 bytes.", nameof(nonce));
        Span<byte> derived = stackalloc byte[MacaroonCrypto.SignatureLength];
        MacaroonCrypto.DeriveKey(caveatKey, derived);
        var vid = SecretBox.Seal(_signature, nonce, derived);
        CryptographicOperations.ZeroMemory(derived);
        var cid = caveatId.ToArray();
        var sig = new byte[MacaroonCrypto.SignatureLength];
        MacaroonCrypto.Hmac2(_signature, vid, cid, sig);
        return new Macaroon(Location, _identifier, [.. _caveats, new MacaroonCaveat(cid, vid, location)], sig);
    }

    /// <summary>Adds a third-party caveat with a text caveat id and a nonce drawn from the task's entropy (seeded, hence reproducible, in the Lab).</summary>
    /// <param name="cx">The task's context (needs <see cref="Capabilities.Random"/>).</param>
    /// <param name="location">Where the third party lives.</param>
    /// <param name="caveatKey">A fresh random key for this caveat only.</param>
    /// <param name="caveatId">The caveat identifier.</param>
    /// <returns>The narrower token.</returns>
    public Macaroon AddThirdPartyCaveat(Cx cx, string location, ReadOnlySpan<byte> caveatKey, string caveatId)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(caveatId);
        Span<byte> nonce = stackalloc byte[SecretBox.NonceLength];
        for (int i = 0; i < nonce.Length; i += 8)
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(nonce[i..], cx.NextRandom());
        return AddThirdPartyCaveat(location, caveatKey, Encoding.UTF8.GetBytes(caveatId), nonce);
    }

    /// <summary>
    /// Binds a discharge macaroon to this (authorizing) token, as pymacaroons' <c>prepare_for_request</c> and
    /// libmacaroons' <c>macaroon_prepare_for_request</c> do: the discharge then verifies only together with this exact
    /// token, so a discharge intercepted on its way cannot be reused with another.
    /// </summary>
    /// <param name="discharge">The discharge as the third party issued it.</param>
    /// <returns>The bound discharge (same location, identifier and caveats; bound signature).</returns>
    public Macaroon BindDischarge(Macaroon discharge)
    {
        ArgumentNullException.ThrowIfNull(discharge);
        var sig = new byte[MacaroonCrypto.SignatureLength];
        MacaroonCrypto.Bind(_signature, discharge._signature, sig);
        return new Macaroon(discharge.Location, discharge._identifier, discharge._caveats, sig);
    }

    /// <summary>
    /// Whether this token is <paramref name="parent"/> plus zero or more first-party caveats, with the signature chained
    /// from the parent's (checked by recomputing the chain; constant-time comparison).
    /// </summary>
    internal bool IsFirstPartyExtensionOf(Macaroon parent)
    {
        if (!_identifier.AsSpan().SequenceEqual(parent._identifier) || Location != parent.Location || _caveats.Length < parent._caveats.Length) return false;
        for (int i = 0; i < parent._caveats.Length; i++)
        {
            var (a, b) = (_caveats[i], parent._caveats[i]);
            if (!a.IdSpan.SequenceEqual(b.IdSpan) || !a.VidSpan.SequenceEqual(b.VidSpan) || a.Location != b.Location) return false;
        }
        Span<byte> x = stackalloc byte[MacaroonCrypto.SignatureLength];
        Span<byte> y = stackalloc byte[MacaroonCrypto.SignatureLength];
        parent._signature.CopyTo(x);
        for (int i = parent._caveats.Length; i < _caveats.Length; i++)
        {
            if (_caveats[i].IsThirdParty) return false;
            MacaroonCrypto.Hmac(x, _caveats[i].IdSpan, y);
            y.CopyTo(x);
        }
        return CryptographicOperations.FixedTimeEquals(x, _signature);
    }

    // ---------------------------------------------------------------- serialization

    /// <summary>Serializes in <paramref name="format"/>: JSON text, or URL-safe base64 (no padding) of the binary form.</summary>
    /// <param name="format">The format (default binary v2, the most compact).</param>
    /// <returns>The text.</returns>
    /// <exception cref="MacaroonFormatException">The format cannot represent this token (JSON v1 needs UTF-8 ids; v1 packets are at most 65535 bytes).</exception>
    public string Serialize(MacaroonFormat format = MacaroonFormat.BinaryV2) => format switch
    {
        MacaroonFormat.BinaryV1 or MacaroonFormat.BinaryV2 => Base64Url.Encode(SerializeBinary(format)),
        MacaroonFormat.JsonV1 => JsonFormat.WriteV1(this),
        MacaroonFormat.JsonV2 => JsonFormat.WriteV2(this),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>The raw binary form (v1 or v2), before base64.</summary>
    /// <param name="format"><see cref="MacaroonFormat.BinaryV1"/> or <see cref="MacaroonFormat.BinaryV2"/>.</param>
    /// <returns>The bytes.</returns>
    public byte[] SerializeBinary(MacaroonFormat format = MacaroonFormat.BinaryV2) => format switch
    {
        MacaroonFormat.BinaryV1 => BinaryV1Format.Write(this),
        MacaroonFormat.BinaryV2 => BinaryV2Format.Write(this),
        _ => throw new ArgumentOutOfRangeException(nameof(format), "Only the binary formats have a raw binary form."),
    };

    /// <summary>
    /// Parses a token in any of the four formats (JSON v1/v2 when it starts with <c>{</c>, else base64 of binary v1/v2,
    /// told apart by the first byte as both libraries do).
    /// </summary>
    /// <param name="text">The serialized token.</param>
    /// <returns>The token (not verified: parsing proves nothing about its authority).</returns>
    /// <exception cref="MacaroonFormatException">It does not parse; the message says why.</exception>
    public static Macaroon Parse(string text) => MacaroonParser.Parse(text, out _);

    /// <summary>Parses a token and says which format it was in.</summary>
    /// <param name="text">The serialized token.</param>
    /// <param name="format">The format it was in.</param>
    /// <returns>The token.</returns>
    /// <exception cref="MacaroonFormatException">It does not parse.</exception>
    public static Macaroon Parse(string text, out MacaroonFormat format) => MacaroonParser.Parse(text, out format);

    /// <summary>Parses a token without throwing.</summary>
    /// <param name="text">The serialized token (null gives false).</param>
    /// <param name="macaroon">The token, or null.</param>
    /// <param name="error">Why it does not parse, or null.</param>
    /// <returns>True when it parsed.</returns>
    public static bool TryParse(string? text, out Macaroon? macaroon, out string? error)
    {
        macaroon = null;
        error = null;
        if (text is null) { error = "no token"; return false; }
        try
        {
            macaroon = MacaroonParser.Parse(text, out _);
            return true;
        }
        catch (MacaroonFormatException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>Parses the raw binary form (v1 or v2, told apart by the first byte).</summary>
    /// <param name="bytes">The bytes.</param>
    /// <returns>The token.</returns>
    /// <exception cref="MacaroonFormatException">It does not parse.</exception>
    public static Macaroon ParseBinary(ReadOnlySpan<byte> bytes) => MacaroonParser.ParseBinary(bytes, out _);

    // ---------------------------------------------------------------- display

    /// <summary>A readable dump (location, identifier, caveats) without the signature, which is the bearer secret.</summary>
    /// <returns>Lines of text.</returns>
    public string Inspect()
    {
        var sb = new StringBuilder();
        sb.Append("location ").Append(Location).Append('\n');
        sb.Append("identifier ").Append(MacaroonCaveat.Describe(_identifier)).Append('\n');
        foreach (var c in _caveats)
        {
            sb.Append("cid ").Append(MacaroonCaveat.Describe(c.IdArray)).Append('\n');
            if (c.IsThirdParty) sb.Append("cl ").Append(c.Location).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>A short description without the signature.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"Macaroon(location '{Location}', identifier '{MacaroonCaveat.Describe(_identifier)}', {_caveats.Length} caveats)";
}

/// <summary>Root keys for minting macaroons.</summary>
public static class MacaroonKeys
{
    /// <summary>
    /// A fresh 32-byte root key from the operating system's CSPRNG. Key material never comes from the runtime's
    /// entropy (<see cref="Cx.NextRandom()"/>): that source is fast and seeded in the Lab, not secret.
    /// </summary>
    /// <returns>The key.</returns>
    public static byte[] GenerateRootKey() => RandomNumberGenerator.GetBytes(32);
}
