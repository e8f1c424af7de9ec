using System.Buffers;
using System.Text;
using System.Text.Json;
using Asupersync.Macaroons.Crypto;

namespace Asupersync.Macaroons.Formats;

/// <summary>
/// The JSON formats. v1 (libmacaroons/pymacaroons): <c>{"location","identifier","caveats":[{"cid","vid","cl"}],"signature"}</c>
/// with text ids, the vid in URL-safe base64 and the signature in hex. v2 (libmacaroons doc/format.txt):
/// <c>{"v":2,"l","i"|"i64","c":[{"i"|"i64","v"|"v64","l"}],"s"|"s64"}</c> where a field <c>x</c> holds UTF-8 text and
/// <c>x64</c> base64 (either alphabet, padding optional); two representations of one field are refused.
/// </summary>
internal static class JsonFormat
{
    private static readonly JsonDocumentOptions s_options = new() { MaxDepth = 8, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    // ---------------------------------------------------------------- writing

    internal static string WriteV1(Macaroon m)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (m.Location.Length > 0) w.WriteString("location", m.Location);
            w.WriteString("identifier", m.IdentifierText ?? throw new MacaroonFormatException("JSON v1 needs a UTF-8 identifier; use JSON v2"));
            if (m.CaveatArray.Length > 0)
            {
                w.WriteStartArray("caveats");
                foreach (var c in m.CaveatArray)
                {
                    w.WriteStartObject();
                    w.WriteString("cid", c.Text ?? throw new MacaroonFormatException("JSON v1 needs UTF-8 caveat ids; use JSON v2"));
                    if (c.IsThirdParty)
                    {
                        w.WriteString("vid", Base64Url.Encode(c.VidSpan));
                        if (!string.IsNullOrEmpty(c.Location)) w.WriteString("cl", c.Location);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteString("signature", Convert.ToHexStringLower(m.SignatureSpan));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    internal static string WriteV2(Macaroon m)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", 2);
            if (m.Location.Length > 0) w.WriteString("l", m.Location);
            Data(w, "i", m.IdentifierSpan);
            if (m.CaveatArray.Length > 0)
            {
                w.WriteStartArray("c");
                foreach (var c in m.CaveatArray)
                {
                    w.WriteStartObject();
                    Data(w, "i", c.IdSpan);
                    if (c.IsThirdParty)
                    {
                        w.WriteString("v64", Base64Url.Encode(c.VidSpan));
                        if (!string.IsNullOrEmpty(c.Location)) w.WriteString("l", c.Location);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteString("s64", Base64Url.Encode(m.SignatureSpan));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Data(Utf8JsonWriter w, string name, ReadOnlySpan<byte> value)
    {
        if (Utf8.TryDecode(value) is { } text) w.WriteString(name, text);
        else w.WriteString(name + "64", Base64Url.Encode(value));
    }

    // ---------------------------------------------------------------- reading

    internal static Macaroon Read(string text, out MacaroonFormat format)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text, s_options);
        }
        catch (JsonException e)
        {
            throw new MacaroonFormatException("not valid JSON: " + FirstLine(e.Message));
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new MacaroonFormatException("a JSON macaroon is an object");
            bool v1 = false;
            foreach (var p in root.EnumerateObject())
                if (p.NameEquals("identifier")) v1 = true;
            format = v1 ? MacaroonFormat.JsonV1 : MacaroonFormat.JsonV2;
            return v1 ? ReadV1(root) : ReadV2(root);
        }
    }

    private static Macaroon ReadV1(JsonElement root)
    {
        string? location = null, identifier = null, signature = null;
        JsonElement? caveats = null;
        foreach (var p in root.EnumerateObject())
        {
            switch (p.Name)
            {
                case "location": Once(ref location, String(p), "location"); break;
                case "identifier": Once(ref identifier, String(p), "identifier"); break;
                case "signature": Once(ref signature, String(p), "signature"); break;
                case "caveats":
                    if (caveats is not null) throw Duplicate("caveats");
                    if (p.Value.ValueKind != JsonValueKind.Array) throw new MacaroonFormatException("'caveats' is not an array");
                    caveats = p.Value;
                    break;
                default: throw new MacaroonFormatException($"unknown JSON v1 field '{Short(p.Name)}'");
            }
        }
        if (identifier is null) throw new MacaroonFormatException("no 'identifier'");
        if (signature is null) throw new MacaroonFormatException("no 'signature'");
        byte[] sig;
        try
        {
            sig = Convert.FromHexString(signature);
        }
        catch (FormatException)
        {
            throw new MacaroonFormatException("the signature is not hex");
        }
        if (sig.Length != MacaroonCrypto.SignatureLength) throw new MacaroonFormatException($"the signature is {sig.Length} bytes, not 32");
        var list = new List<MacaroonCaveat>();
        if (caveats is { } arr)
        {
            foreach (var c in arr.EnumerateArray())
            {
                if (list.Count >= MacaroonParser.MaxCaveats) throw new MacaroonFormatException($"more than {MacaroonParser.MaxCaveats} caveats");
                if (c.ValueKind != JsonValueKind.Object) throw new MacaroonFormatException($"caveat {list.Count} is not an object");
                string? cid = null, vid = null, cl = null;
                foreach (var p in c.EnumerateObject())
                {
                    switch (p.Name)
                    {
                        case "cid": Once(ref cid, String(p), "cid"); break;
                        case "vid": Once(ref vid, String(p), "vid"); break;
                        case "cl": Once(ref cl, String(p), "cl"); break;
                        default: throw new MacaroonFormatException($"caveat {list.Count}: unknown field '{Short(p.Name)}'");
                    }
                }
                if (string.IsNullOrEmpty(cid)) throw new MacaroonFormatException($"caveat {list.Count} has no 'cid'");
                byte[]? vidBytes = null;
                if (!string.IsNullOrEmpty(vid))
                    vidBytes = Base64Url.TryDecode(vid) ?? throw new MacaroonFormatException($"caveat {list.Count}: 'vid' is not base64");
                if (cl is not null && vidBytes is null) throw new MacaroonFormatException($"caveat {list.Count}: 'cl' without 'vid'");
                list.Add(new MacaroonCaveat(Encoding.UTF8.GetBytes(cid), vidBytes, vidBytes is null ? null : cl ?? ""));
            }
        }
        return new Macaroon(location ?? "", Encoding.UTF8.GetBytes(identifier), [.. list], sig);
    }

    private static Macaroon ReadV2(JsonElement root)
    {
        byte[]? identifier = null, signature = null;
        string? location = null;
        JsonElement? caveats = null;
        bool haveVersion = false;
        foreach (var p in root.EnumerateObject())
        {
            switch (p.Name)
            {
                case "v":
                    if (haveVersion) throw Duplicate("v");
                    haveVersion = true;
                    bool ok = p.Value.ValueKind switch
                    {
                        JsonValueKind.Number => p.Value.TryGetInt32(out int n) && n == 2,
                        JsonValueKind.String => p.Value.GetString() == "2",
                        _ => false,
                    };
                    if (!ok) throw new MacaroonFormatException("unsupported JSON macaroon version (expected 2)");
                    break;
                case "l": Once(ref location, String(p), "l"); break;
                case "i" or "i64": OnceData(ref identifier, p, "i"); break;
                case "s" or "s64": OnceData(ref signature, p, "s"); break;
                case "c":
                    if (caveats is not null) throw Duplicate("c");
                    if (p.Value.ValueKind != JsonValueKind.Array) throw new MacaroonFormatException("'c' is not an array");
                    caveats = p.Value;
                    break;
                default: throw new MacaroonFormatException($"unknown JSON v2 field '{Short(p.Name)}'");
            }
        }
        if (identifier is null) throw new MacaroonFormatException("no identifier ('i' or 'i64')");
        if (signature is null) throw new MacaroonFormatException("no signature ('s' or 's64')");
        if (signature.Length != MacaroonCrypto.SignatureLength) throw new MacaroonFormatException($"the signature is {signature.Length} bytes, not 32");
        var list = new List<MacaroonCaveat>();
        if (caveats is { } arr)
        {
            foreach (var c in arr.EnumerateArray())
            {
                if (list.Count >= MacaroonParser.MaxCaveats) throw new MacaroonFormatException($"more than {MacaroonParser.MaxCaveats} caveats");
                if (c.ValueKind != JsonValueKind.Object) throw new MacaroonFormatException($"caveat {list.Count} is not an object");
                byte[]? cid = null, vid = null;
                string? cl = null;
                foreach (var p in c.EnumerateObject())
                {
                    switch (p.Name)
                    {
                        case "i" or "i64": OnceData(ref cid, p, "i"); break;
                        case "v" or "v64": OnceData(ref vid, p, "v"); break;
                        case "l": Once(ref cl, String(p), "l"); break;
                        default: throw new MacaroonFormatException($"caveat {list.Count}: unknown field '{Short(p.Name)}'");
                    }
                }
                if (cid is null || cid.Length == 0) throw new MacaroonFormatException($"caveat {list.Count} has no identifier");
                if (vid is { Length: 0 }) vid = null;
                if (cl is not null && vid is null) throw new MacaroonFormatException($"caveat {list.Count}: location not allowed in a first-party caveat");
                list.Add(new MacaroonCaveat(cid, vid, vid is null ? null : cl ?? ""));
            }
        }
        return new Macaroon(location ?? "", identifier, [.. list], signature);
    }

    private static string String(JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw new MacaroonFormatException($"'{Short(p.Name)}' is not a string");

    private static void Once(ref string? slot, string value, string name)
    {
        if (slot is not null) throw Duplicate(name);
        slot = value;
    }

    private static void OnceData(ref byte[]? slot, JsonProperty p, string name)
    {
        if (slot is not null) throw new MacaroonFormatException($"more than one representation of field '{name}'");
        var s = String(p);
        slot = p.Name.EndsWith("64", StringComparison.Ordinal)
            ? Base64Url.TryDecode(s) ?? throw new MacaroonFormatException($"'{p.Name}' is not base64")
            : Encoding.UTF8.GetBytes(s);
    }

    private static MacaroonFormatException Duplicate(string name) => new($"field '{name}' appears twice");

    private static string Short(string s) => s.Length <= 24 ? s : s[..24] + "…";

    private static string FirstLine(string s)
    {
        int nl = s.IndexOf('\n', StringComparison.Ordinal);
        return nl < 0 ? s : s[..nl];
    }
}
