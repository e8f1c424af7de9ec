using System.Text;
using Asupersync.Macaroons.Crypto;

namespace Asupersync.Macaroons.Formats;

/// <summary>
/// libmacaroons' binary v1: a sequence of packets, each <c>4 hex digits (total packet length) ‖ key ‖ ' ' ‖ value ‖ '\n'</c>,
/// in the order location, identifier, then per caveat <c>cid</c> (and <c>vid</c>, <c>cl</c> for a third-party caveat),
/// then <c>signature</c> with the raw 32 bytes.
/// </summary>
internal static class BinaryV1Format
{
    private const int MaxPacket = 0xFFFF;

    internal static byte[] Write(Macaroon m)
    {
        var buf = new List<byte>(128);
        Packet(buf, "location"u8, Encoding.UTF8.GetBytes(m.Location));
        Packet(buf, "identifier"u8, m.IdentifierSpan);
        foreach (var c in m.CaveatArray)
        {
            Packet(buf, "cid"u8, c.IdSpan);
            if (c.IsThirdParty)
            {
                Packet(buf, "vid"u8, c.VidSpan);
                Packet(buf, "cl"u8, Encoding.UTF8.GetBytes(c.Location ?? ""));
            }
        }
        Packet(buf, "signature"u8, m.SignatureSpan);
        return [.. buf];
    }

    private static void Packet(List<byte> buf, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        int size = 4 + key.Length + 1 + value.Length + 1;
        if (size > MaxPacket) throw new MacaroonFormatException($"a '{Encoding.ASCII.GetString(key)}' packet of {size} bytes does not fit binary v1 (at most 65535); use binary v2");
        Span<byte> head = stackalloc byte[4];
        const string hex = "0123456789abcdef";
        for (int i = 0; i < 4; i++) head[i] = (byte)hex[(size >> (12 - 4 * i)) & 0xF];
        buf.AddRange(head);
        buf.AddRange(key);
        buf.Add((byte)' ');
        buf.AddRange(value);
        buf.Add((byte)'\n');
    }

    internal static Macaroon Read(ReadOnlySpan<byte> data)
    {
        int pos = 0;
        string location = "";
        byte[]? identifier = null;
        byte[]? signature = null;
        var caveats = new List<MacaroonCaveat>();
        byte[]? cid = null, vid = null;
        string? cl = null;
        bool haveCl = false;
        int index = 0;
        bool sawLocation = false;

        void FlushCaveat()
        {
            if (cid is null) return;
            if (haveCl && vid is null) throw new MacaroonFormatException($"caveat {caveats.Count}: a 'cl' packet without a 'vid' packet");
            if (caveats.Count >= MacaroonParser.MaxCaveats) throw new MacaroonFormatException($"more than {MacaroonParser.MaxCaveats} caveats");
            caveats.Add(new MacaroonCaveat(cid, vid, vid is null ? null : cl ?? ""));
            cid = null; vid = null; cl = null; haveCl = false;
        }

        while (pos < data.Length)
        {
            if (signature is not null) throw new MacaroonFormatException("bytes after the signature packet");
            if (data.Length - pos < 4) throw new MacaroonFormatException($"truncated packet header at byte {pos}");
            int size = 0;
            for (int i = 0; i < 4; i++)
            {
                int d = HexValue(data[pos + i]);
                if (d < 0) throw new MacaroonFormatException($"packet header at byte {pos} is not 4 hex digits");
                size = (size << 4) | d;
            }
            if (size < 4 + 2) throw new MacaroonFormatException($"packet at byte {pos} claims {size} bytes, fewer than a packet needs");
            if (size > data.Length - pos) throw new MacaroonFormatException($"packet at byte {pos} claims {size} bytes but only {data.Length - pos} remain");
            var body = data.Slice(pos + 4, size - 4);
            if (body[^1] != (byte)'\n') throw new MacaroonFormatException($"packet at byte {pos} does not end with a newline");
            int space = body.IndexOf((byte)' ');
            if (space <= 0) throw new MacaroonFormatException($"packet at byte {pos} has no key");
            var key = body[..space];
            var value = body[(space + 1)..^1];
            pos += size;

            if (key.SequenceEqual("location"u8))
            {
                if (index != 0) throw new MacaroonFormatException("the 'location' packet must come first");
                location = Utf8.TryDecode(value) ?? throw new MacaroonFormatException("the location is not UTF-8");
                sawLocation = true;
            }
            else if (key.SequenceEqual("identifier"u8))
            {
                if (identifier is not null || index != (sawLocation ? 1 : 0))
                    throw new MacaroonFormatException("the 'identifier' packet must come once, right after 'location'");
                identifier = value.ToArray();
            }
            else if (key.SequenceEqual("cid"u8))
            {
                if (identifier is null) throw new MacaroonFormatException("a 'cid' packet before the identifier");
                FlushCaveat();
                if (value.IsEmpty) throw new MacaroonFormatException($"caveat {caveats.Count} has an empty id");
                cid = value.ToArray();
            }
            else if (key.SequenceEqual("vid"u8))
            {
                if (cid is null || vid is not null) throw new MacaroonFormatException("a 'vid' packet that does not follow a 'cid'");
                if (value.IsEmpty) throw new MacaroonFormatException($"caveat {caveats.Count} has an empty verification id");
                vid = value.ToArray();
            }
            else if (key.SequenceEqual("cl"u8))
            {
                if (cid is null || haveCl) throw new MacaroonFormatException("a 'cl' packet that does not follow a 'cid'");
                cl = Utf8.TryDecode(value) ?? throw new MacaroonFormatException("a caveat location is not UTF-8");
                haveCl = true;
            }
            else if (key.SequenceEqual("signature"u8))
            {
                if (identifier is null) throw new MacaroonFormatException("a 'signature' packet before the identifier");
                FlushCaveat();
                if (value.Length != MacaroonCrypto.SignatureLength) throw new MacaroonFormatException($"the signature is {value.Length} bytes, not 32");
                signature = value.ToArray();
            }
            else
            {
                throw new MacaroonFormatException($"unknown packet key '{Sanitize(key)}'");
            }
            index++;
        }
        if (identifier is null) throw new MacaroonFormatException("no 'identifier' packet");
        if (signature is null) throw new MacaroonFormatException("no 'signature' packet (truncated token?)");
        return new Macaroon(location, identifier, [.. caveats], signature);
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    internal static string Sanitize(ReadOnlySpan<byte> key)
    {
        var sb = new StringBuilder();
        foreach (var b in key[..Math.Min(key.Length, 24)]) sb.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        return sb.ToString();
    }
}
