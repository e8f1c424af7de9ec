using System.Text;
using Asupersync.Macaroons.Crypto;

namespace Asupersync.Macaroons.Formats;

/// <summary>
/// libmacaroons' binary v2 (doc/format.txt): <c>VERSION(2) opt_location IDENTIFIER EOS caveats EOS SIGNATURE</c>,
/// caveat = <c>opt_location IDENTIFIER opt_vid EOS</c>; a field is <c>type (varint) ‖ length (varint) ‖ bytes</c>
/// with types LOCATION 1, IDENTIFIER 2, VID 4, SIGNATURE 6; EOS is a zero byte. Fields of a section come in
/// increasing type order; a location in a caveat needs a vid (pymacaroons and libmacaroons agree).
/// </summary>
internal static class BinaryV2Format
{
    private const byte Version = 2;
    private const int Location = 1, IdentifierField = 2, Vid = 4, SignatureField = 6, Eos = 0;

    internal static byte[] Write(Macaroon m)
    {
        var buf = new List<byte>(128) { Version };
        if (m.Location.Length > 0) Field(buf, Location, Encoding.UTF8.GetBytes(m.Location));
        Field(buf, IdentifierField, m.IdentifierSpan);
        buf.Add(Eos);
        foreach (var c in m.CaveatArray)
        {
            if (c.IsThirdParty && !string.IsNullOrEmpty(c.Location)) Field(buf, Location, Encoding.UTF8.GetBytes(c.Location));
            Field(buf, IdentifierField, c.IdSpan);
            if (c.IsThirdParty) Field(buf, Vid, c.VidSpan);
            buf.Add(Eos);
        }
        buf.Add(Eos);
        Field(buf, SignatureField, m.SignatureSpan);
        return [.. buf];
    }

    private static void Field(List<byte> buf, int type, ReadOnlySpan<byte> value)
    {
        Varint(buf, (ulong)type);
        Varint(buf, (ulong)value.Length);
        buf.AddRange(value);
    }

    private static void Varint(List<byte> buf, ulong n)
    {
        while (n >= 0x80)
        {
            buf.Add((byte)(n | 0x80));
            n >>= 7;
        }
        buf.Add((byte)n);
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        internal int Pos;

        internal readonly bool AtEnd => Pos >= _data.Length;

        internal ulong ReadVarint()
        {
            ulong n = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (Pos >= _data.Length) throw new MacaroonFormatException($"truncated varint at byte {Pos}");
                byte b = _data[Pos++];
                if (shift == 63 && b > 1) throw new MacaroonFormatException($"varint overflow at byte {Pos - 1}");
                n |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return n;
            }
            throw new MacaroonFormatException($"varint longer than 10 bytes at byte {Pos}");
        }

        /// <summary>Reads one field; returns its type (0 for EOS, with an empty value).</summary>
        internal int ReadField(out ReadOnlySpan<byte> value)
        {
            value = default;
            int at = Pos;
            ulong type = ReadVarint();
            if (type == Eos) return Eos;
            if (type is not (Location or IdentifierField or Vid or SignatureField))
                throw new MacaroonFormatException($"unknown field type {type} at byte {at}");
            ulong len = ReadVarint();
            if (len > (ulong)(_data.Length - Pos)) throw new MacaroonFormatException($"field at byte {at} claims {len} bytes but only {_data.Length - Pos} remain");
            value = _data.Slice(Pos, (int)len);
            Pos += (int)len;
            return (int)type;
        }
    }

    internal static Macaroon Read(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || data[0] != Version) throw new MacaroonFormatException("not a binary v2 macaroon (first byte is not 2)");
        var r = new Reader(data) { Pos = 1 };

        // Header section.
        int t = r.ReadField(out var v);
        string location = "";
        if (t == Location)
        {
            location = Utf8.TryDecode(v) ?? throw new MacaroonFormatException("the location is not UTF-8");
            t = r.ReadField(out v);
        }
        if (t != IdentifierField) throw new MacaroonFormatException("invalid macaroon header: no identifier");
        var identifier = v.ToArray();
        if (r.ReadField(out _) != Eos) throw new MacaroonFormatException("invalid macaroon header: extra field after the identifier");

        var caveats = new List<MacaroonCaveat>();
        while (true)
        {
            int at = r.Pos;
            t = r.ReadField(out v);
            if (t == Eos) break;
            if (caveats.Count >= MacaroonParser.MaxCaveats) throw new MacaroonFormatException($"more than {MacaroonParser.MaxCaveats} caveats");
            string? cl = null;
            if (t == Location)
            {
                cl = Utf8.TryDecode(v) ?? throw new MacaroonFormatException($"caveat {caveats.Count}: location is not UTF-8");
                t = r.ReadField(out v);
            }
            if (t != IdentifierField) throw new MacaroonFormatException($"caveat {caveats.Count} at byte {at}: no identifier");
            if (v.IsEmpty) throw new MacaroonFormatException($"caveat {caveats.Count}: empty identifier");
            var cid = v.ToArray();
            byte[]? vid = null;
            t = r.ReadField(out v);
            if (t == Vid)
            {
                if (v.IsEmpty) throw new MacaroonFormatException($"caveat {caveats.Count}: empty verification id");
                vid = v.ToArray();
                t = r.ReadField(out _);
            }
            if (t != Eos) throw new MacaroonFormatException($"caveat {caveats.Count}: fields out of order or extra fields");
            if (cl is not null && vid is null) throw new MacaroonFormatException($"caveat {caveats.Count}: location not allowed in a first-party caveat");
            caveats.Add(new MacaroonCaveat(cid, vid, vid is null ? null : cl ?? ""));
        }
        if (r.ReadField(out v) != SignatureField) throw new MacaroonFormatException("no signature after the caveats (truncated token?)");
        if (v.Length != MacaroonCrypto.SignatureLength) throw new MacaroonFormatException($"the signature is {v.Length} bytes, not 32");
        var signature = v.ToArray();
        if (!r.AtEnd) throw new MacaroonFormatException("bytes after the signature");
        return new Macaroon(location, identifier, [.. caveats], signature);
    }
}
