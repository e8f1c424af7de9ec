namespace Asupersync.Http;

/// <summary>Header-field and chunked-body parsing shared by the server and the client. Strict on purpose.</summary>
internal static class HttpFraming
{
    /// <summary>
    /// Reads header fields up to the empty line. Obsolete line folding, a space before the colon, an invalid name
    /// or value byte → 400; more than <paramref name="maxCount"/> fields or <paramref name="maxBytes"/> bytes → 431.
    /// </summary>
    internal static async ValueTask ReadFieldsAsync(Cx cx, HttpReader r, HttpHeaders headers, int maxCount, int maxBytes, TimeSpan? deadline)
    {
        int used = 0;
        while (true)
        {
            int remaining = Math.Max(0, maxBytes - used);
            var (line, raw) = await r.ReadLineAsync(cx, remaining, 431, deadline);
            used += raw;
            if (used > maxBytes) throw new HttpProtocolException(431, "header section too large");
            if (line.Length == 0) return;
            if (line[0] is ' ' or '\t') throw new HttpProtocolException(400, "obsolete line folding");
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) throw new HttpProtocolException(400, "header line without a name and colon");
            var name = line[..colon];
            if (!HttpSyntax.IsToken(name)) throw new HttpProtocolException(400, "invalid header name (whitespace before the colon?)");
            var value = line[(colon + 1)..].Trim(' ', '\t');
            if (!HttpSyntax.IsFieldValue(value)) throw new HttpProtocolException(400, "control character in a header value");
            if (headers.Count >= maxCount) throw new HttpProtocolException(431, "too many header fields");
            headers.AddUnchecked(name, value);
        }
    }

    /// <summary>Reads a chunked body (with trailers, which are parsed under the same limits and dropped).</summary>
    internal static async ValueTask<byte[]> ReadChunkedAsync(Cx cx, HttpReader r, long maxBody, int maxHeaderCount, int maxHeaderBytes, TimeSpan? deadline)
    {
        var body = new MemoryStream();
        var crlf = new byte[2];
        while (true)
        {
            var (line, _) = await r.ReadLineAsync(cx, 1024, 400, deadline);
            long size = ParseChunkSize(line);
            if (size == 0) break;
            if (body.Length + size > maxBody) throw new HttpProtocolException(413, "chunked body too large");
            var chunk = new byte[size];
            await r.ReadExactAsync(cx, chunk, deadline);
            body.Write(chunk);
            await r.ReadExactAsync(cx, crlf, deadline);
            if (crlf[0] != (byte)'\r' || crlf[1] != (byte)'\n') throw new HttpProtocolException(400, "chunk data not followed by CRLF");
        }
        await ReadFieldsAsync(cx, r, new HttpHeaders(), maxHeaderCount, maxHeaderBytes, deadline);
        return body.ToArray();
    }

    /// <summary><c>chunk-size [ chunk-ext ]</c>: 1–8 hex digits, then nothing or a well-formed extension.</summary>
    internal static long ParseChunkSize(string line)
    {
        int i = 0;
        long size = 0;
        while (i < line.Length && Uri.IsHexDigit(line[i]))
        {
            if (i >= 8) throw new HttpProtocolException(400, "chunk size too long");
            size = size * 16 + Convert.ToInt32(line[i].ToString(), 16);
            i++;
        }
        if (i == 0) throw new HttpProtocolException(400, "invalid chunk size");
        if (i < line.Length)
        {
            var ext = line.AsSpan(i).TrimStart(" \t");
            if (ext.Length == 0 || ext[0] != ';') throw new HttpProtocolException(400, "invalid chunk size");
            foreach (var c in ext)
            {
                if (c > 0xFF || !HttpSyntax.IsFieldValueByte((byte)c)) throw new HttpProtocolException(400, "invalid chunk extension");
            }
        }
        return size;
    }
}
