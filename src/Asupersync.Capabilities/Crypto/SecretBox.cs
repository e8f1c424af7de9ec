using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Parameters;

namespace Asupersync.Macaroons.Crypto;

/// <summary>
/// NaCl's <c>crypto_secretbox</c> (XSalsa20-Poly1305), the cipher libmacaroons and pymacaroons use to encrypt a
/// third-party caveat's key under the chain signature. Wire form (as PyNaCl's <c>SecretBox.encrypt</c> returns it):
/// <c>nonce (24) ‖ Poly1305 tag (16) ‖ ciphertext</c>. The primitives come from BouncyCastle; only the composition
/// (the first 32 keystream bytes are the one-time Poly1305 key, the message is XORed with the keystream from byte 32)
/// is written here, and it is checked against PyNaCl in the interop tests.
/// </summary>
internal static class SecretBox
{
    internal const int KeyLength = 32;
    internal const int NonceLength = 24;
    internal const int TagLength = 16;
    internal const int Overhead = NonceLength + TagLength;

    /// <summary>Encrypts and authenticates <paramref name="message"/>.</summary>
    internal static byte[] Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> message)
    {
        if (key.Length != KeyLength) throw new ArgumentException("A secretbox key is 32 bytes.", nameof(key));
        if (nonce.Length != NonceLength) throw new ArgumentException("A secretbox nonce is 24 bytes.", nameof(nonce));
        var output = new byte[Overhead + message.Length];
        nonce.CopyTo(output);
        var stream = Keystream(key, nonce, out var polyKey);
        stream.ProcessBytes(message, output.AsSpan(Overhead));
        Tag(polyKey, output.AsSpan(Overhead), output.AsSpan(NonceLength, TagLength));
        CryptographicOperations.ZeroMemory(polyKey);
        return output;
    }

    /// <summary>Checks the tag (in constant time) and decrypts; false when the box was not sealed with this key.</summary>
    internal static bool TryOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> box, Span<byte> message)
    {
        if (key.Length != KeyLength || box.Length < Overhead || message.Length != box.Length - Overhead) return false;
        var nonce = box[..NonceLength];
        var tag = box.Slice(NonceLength, TagLength);
        var ciphertext = box[Overhead..];
        var stream = Keystream(key, nonce, out var polyKey);
        Span<byte> expected = stackalloc byte[TagLength];
        Tag(polyKey, ciphertext, expected);
        CryptographicOperations.ZeroMemory(polyKey);
        if (!CryptographicOperations.FixedTimeEquals(expected, tag)) return false;
        stream.ProcessBytes(ciphertext, message);
        return true;
    }

    private static XSalsa20Engine Keystream(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, out byte[] polyKey)
    {
        var engine = new XSalsa20Engine();
        engine.Init(true, new ParametersWithIV(new KeyParameter(key), nonce));
        polyKey = new byte[32];
        engine.ProcessBytes(new byte[32], polyKey);
        return engine;
    }

    private static void Tag(byte[] polyKey, ReadOnlySpan<byte> ciphertext, Span<byte> tag)
    {
        var mac = new Poly1305();
        mac.Init(new KeyParameter(polyKey));
        mac.BlockUpdate(ciphertext);
        mac.DoFinal(tag);
    }
}
