using System.Buffers;

namespace Asupersync.Http;

/// <summary>
/// A buffered reader over an <see cref="HttpStream"/> (TCP or TLS) for HTTP/1.1 framing: strict CRLF lines, exact-length
/// reads. Bytes read past a message stay buffered for the next one (pipelining). Every wait is a cancel-safe
/// stream read, so a cancel or timeout loses no buffered byte. The buffer is rented from the shared pool while
/// bytes flow and given back (<see cref="Release"/>) once nothing is buffered, so an idle connection holds none.
/// </summary>
internal sealed class HttpReader
{
    private readonly HttpStream _stream;
    private readonly int _maxBuffer;
    private readonly int _initial;
    private byte[]? _buf;
    private int _start, _end;

    internal HttpReader(HttpStream stream, int maxBuffer, int initial = 4096)
    {
        _stream = stream;
        _maxBuffer = Math.Max(maxBuffer, 1024);
        _initial = Math.Min(initial, _maxBuffer);
    }

    internal int Buffered => _end - _start;

    /// <summary>Run before every wait on the stream (the server flushes pipelined responses it held back); null for none.</summary>
    internal Func<Cx, ValueTask>? BeforeWait { get; init; }

    internal ReadOnlySpan<byte> Span => _buf is null ? default : _buf.AsSpan(_start, _end - _start);

    /// <summary>Bytes of buffer held right now (a diagnostic).</summary>
    internal int HeldBytes => Volatile.Read(ref _buf)?.Length ?? 0;

    /// <summary>Gives the buffer back to the pool if nothing is buffered (or always, with <paramref name="force"/>: the connection ended).</summary>
    internal void Release(bool force = false)
    {
        if (_buf is null || (!force && Buffered > 0)) return;
        var b = _buf;
        Volatile.Write(ref _buf, null);
        _start = _end = 0;
        ArrayPool<byte>.Shared.Return(b);
    }

    /// <summary>
    /// Idle: gives the buffer back and waits until the stream is readable, holding nothing; then reads. False at end
    /// of stream. Throws <see cref="TimeoutException"/> at <paramref name="deadline"/>.
    /// </summary>
    internal async ValueTask<bool> FillIdleAsync(Cx cx, TimeSpan? deadline)
    {
        if (BeforeWait is { } flush) await flush(cx);
        Release();
        var budget = deadline is { } d ? Budget.AtDeadline(d) : Budget.Unlimited;
        await _stream.WaitReadableAsync(cx, budget);
        return await FillAsync(cx, deadline);
    }

    /// <summary>True when bytes of the peer's are buffered here or have arrived at the stream and not been read.</summary>
    internal bool HasUnreadData => Buffered > 0 || _stream.HasUnreadData;

    internal void Consume(int n)
    {
        _start += n;
        if (_start == _end) _start = _end = 0;
    }

    /// <summary>Reads more bytes. False at end of stream. Throws <see cref="TimeoutException"/> at <paramref name="deadline"/>.</summary>
    internal async ValueTask<bool> FillAsync(Cx cx, TimeSpan? deadline)
    {
        _buf ??= ArrayPool<byte>.Shared.Rent(_initial);
        if (_end == _buf.Length)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            else
            {
                if (_buf.Length >= _maxBuffer) throw new InvalidOperationException("HTTP read buffer full.");
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_buf.Length * 2, _maxBuffer));
                _buf.AsSpan(0, _end).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_buf);
                _buf = bigger;
            }
        }
        if (BeforeWait is { } flush) await flush(cx);
        var budget = deadline is { } d ? Budget.AtDeadline(d) : Budget.Unlimited;
        int n = await _stream.ReadAsync(cx, _buf.AsMemory(_end), budget);
        if (n == 0) return false;
        _end += n;
        return true;
    }

    internal bool IsFull => _buf is not null && _start == 0 && _end == _buf.Length && _buf.Length >= _maxBuffer;

    /// <summary>
    /// Takes one CRLF-terminated line (without the CRLF) if complete. Bare LF or a CR not followed by LF is a
    /// 400; a line longer than <paramref name="maxLength"/> is <paramref name="tooLongStatus"/>.
    /// </summary>
    internal bool TryReadLine(int maxLength, int tooLongStatus, out string line, out int rawLength)
    {
        var span = Span;
        int lf = span.IndexOf((byte)'\n');
        var scan = lf >= 0 ? span[..lf] : span;
        int cr = scan.IndexOf((byte)'\r');
        if (cr >= 0 && cr != scan.Length - 1) throw new HttpProtocolException(400, "bare CR in a line");
        if (cr >= 0 && cr == scan.Length - 1 && lf < 0 && scan.Length > maxLength + 1) throw new HttpProtocolException(tooLongStatus, "line too long");
        if (lf < 0)
        {
            if (span.Length > maxLength + 1) throw new HttpProtocolException(tooLongStatus, "line too long");
            line = "";
            rawLength = 0;
            return false;
        }
        if (lf == 0 || span[lf - 1] != (byte)'\r') throw new HttpProtocolException(400, "bare LF line ending");
        if (lf - 1 > maxLength) throw new HttpProtocolException(tooLongStatus, "line too long");
        line = HttpSyntax.Latin1(span[..(lf - 1)]);
        rawLength = lf + 1;
        Consume(lf + 1);
        return true;
    }

    /// <summary>Reads a line, filling as needed. EOF before the line is complete is an <see cref="EndOfStreamException"/>.</summary>
    internal async ValueTask<(string Line, int Raw)> ReadLineAsync(Cx cx, int maxLength, int tooLongStatus, TimeSpan? deadline)
    {
        while (true)
        {
            if (TryReadLine(maxLength, tooLongStatus, out var line, out var raw)) return (line, raw);
            if (IsFull) throw new HttpProtocolException(tooLongStatus, "line too long");
            if (!await FillAsync(cx, deadline)) throw new EndOfStreamException("The peer closed the connection mid-message.");
        }
    }

    /// <summary>Reads exactly <paramref name="dest"/>.Length bytes.</summary>
    internal async ValueTask ReadExactAsync(Cx cx, Memory<byte> dest, TimeSpan? deadline)
    {
        while (dest.Length > 0)
        {
            if (Buffered > 0)
            {
                int n = Math.Min(Buffered, dest.Length);
                Span[..n].CopyTo(dest.Span);
                Consume(n);
                dest = dest[n..];
                continue;
            }
            if (BeforeWait is { } flush) await flush(cx);
            var budget = deadline is { } d ? Budget.AtDeadline(d) : Budget.Unlimited;
            int r = await _stream.ReadAsync(cx, dest, budget);
            if (r == 0) throw new EndOfStreamException("The peer closed the connection mid-body.");
            dest = dest[r..];
        }
    }

    /// <summary>Reads everything until end of stream (bounded by <paramref name="max"/>).</summary>
    internal async ValueTask<byte[]> ReadToEndAsync(Cx cx, int max, TimeSpan? deadline)
    {
        var ms = new MemoryStream();
        ms.Write(Span);
        Consume(Buffered);
        var chunk = new byte[8192];
        while (true)
        {
            var budget = deadline is { } d ? Budget.AtDeadline(d) : Budget.Unlimited;
            int r = await _stream.ReadAsync(cx, chunk, budget);
            if (r == 0) return ms.ToArray();
            if (ms.Length + r > max) throw new HttpProtocolException(413, "body too large");
            ms.Write(chunk, 0, r);
        }
    }
}
