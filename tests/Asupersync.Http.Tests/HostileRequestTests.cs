using Asupersync.Http;
using static Asupersync.Http.Tests.RawClient;

namespace Asupersync.Http.Tests;

/// <summary>Malformed and hostile requests: each gets a 4xx (or 501/505) and a close, or just a close — never a crash or hang.</summary>
public class HostileRequestTests
{
    private static readonly HttpServerOptions Tight = new()
    {
        HeaderReadTimeout = TimeSpan.FromSeconds(1),
        BodyReadTimeout = TimeSpan.FromSeconds(1),
        IdleTimeout = TimeSpan.FromSeconds(2),
        LingerTimeout = TimeSpan.FromMilliseconds(200),
    };

    private const string H = "Host: x\r\n";

    /// <summary>(name, request, expected status; null = a close without a response is the right answer).</summary>
    public static TheoryData<string, string, int?> Corpus()
    {
        var d = new TheoryData<string, string, int?>();
        void Add(string name, string req, int? status) => d.Add(name, req, status);
        // --- smuggling: framing conflicts
        Add("cl+te", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
        Add("te+cl", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400);
        Add("cl.te classic", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED", 400);
        Add("two cl differ", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400);
        Add("two cl same", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400);
        Add("cl list", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 3, 3\r\n\r\nabc", 400);
        Add("cl plus", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: +3\r\n\r\nabc", 400);
        Add("cl negative", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\n", 400);
        Add("cl hex", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 0x10\r\n\r\n", 400);
        Add("cl inner space", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 1 2\r\n\r\n", 400);
        Add("cl overflow", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 99999999999999999999999\r\n\r\n", 400);
        Add("cl empty", "POST /echo HTTP/1.1\r\n" + H + "Content-Length:\r\n\r\n", 400);
        Add("te chunked,identity", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400);
        Add("te gzip,chunked", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400);
        Add("te identity", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: identity\r\n\r\n", 501);
        Add("te xchunked", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400);
        Add("te twice", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n0\r\n\r\n", 400);
        Add("te in 1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
        Add("te space before colon", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400);
        Add("cl space before colon", "POST /echo HTTP/1.1\r\n" + H + "Content-Length : 3\r\n\r\nabc", 400);
        // --- line structure
        Add("obs-fold space", "GET / HTTP/1.1\r\n" + H + "X-A: a\r\n b\r\n\r\n", 400);
        Add("obs-fold tab", "GET / HTTP/1.1\r\n" + H + "X-A: a\r\n\tb\r\n\r\n", 400);
        Add("fold first line", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400);
        Add("bare lf", "GET / HTTP/1.1\nHost: x\n\n", 400);
        Add("bare lf in headers", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400);
        Add("bare cr request line", "GET / HTTP/1.1\rHost: x\r\n\r\n", 400);
        Add("bare cr header value", "GET / HTTP/1.1\r\n" + H + "X: a\rb\r\n\r\n", 400);
        Add("nul in value", "GET / HTTP/1.1\r\n" + H + "X: a\0b\r\n\r\n", 400);
        Add("del in value", "GET / HTTP/1.1\r\n" + H + "X: a\u007fb\r\n\r\n", 400);
        Add("ctl in value", "GET / HTTP/1.1\r\n" + H + "X: a\u0001b\r\n\r\n", 400);
        Add("no colon", "GET / HTTP/1.1\r\n" + H + "NoColonHere\r\n\r\n", 400);
        Add("empty name", "GET / HTTP/1.1\r\n" + H + ": value\r\n\r\n", 400);
        Add("bad name char", "GET / HTTP/1.1\r\n" + H + "X(y): z\r\n\r\n", 400);
        Add("space in name", "GET / HTTP/1.1\r\n" + H + "Bad Header: z\r\n\r\n", 400);
        Add("missing host", "GET / HTTP/1.1\r\n\r\n", 400);
        Add("two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
        // --- Host must be uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2)
        Add("host bad port", "GET / HTTP/1.1\r\nHost: localhost:8o\r\n\r\n", 400);
        Add("host list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400);
        Add("host path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
        Add("host space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
        Add("host userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400);
        Add("host no name", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 400);
        Add("host bad ipv6", "GET / HTTP/1.1\r\nHost: [::g]:80\r\n\r\n", 400);
        Add("host unclosed ipv6", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400);
        Add("host bad pct", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400);
        Add("host two colons", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400);
        // --- request line
        Add("double space", "GET  / HTTP/1.1\r\n" + H + "\r\n", 400);
        Add("trailing space", "GET / HTTP/1.1 \r\n" + H + "\r\n", 400);
        Add("lowercase version", "GET / http/1.1\r\n" + H + "\r\n", 400);
        Add("http/2.0", "GET / HTTP/2.0\r\n" + H + "\r\n", 505);
        Add("http/1.2", "GET / HTTP/1.2\r\n" + H + "\r\n", 505);
        Add("http/0.9 style", "GET /\r\n\r\n", 400);
        Add("relative target", "GET foo HTTP/1.1\r\n" + H + "\r\n", 400);
        Add("tab in target", "GET /a\tb HTTP/1.1\r\n" + H + "\r\n", 400);
        Add("non-ascii target", "GET /\u00ff HTTP/1.1\r\n" + H + "\r\n", 400);
        Add("bad method", "GE(T / HTTP/1.1\r\n" + H + "\r\n", 400);
        Add("nul method", "G\0T / HTTP/1.1\r\n" + H + "\r\n", 400);
        Add("empty lines flood", "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" + H + "\r\n", 400);
        Add("binary garbage", "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003\r\n\r\n", 400);
        Add("tls hello", "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003", null);
        // --- limits
        Add("request line too long", "GET /" + new string('a', 9000) + " HTTP/1.1\r\n" + H + "\r\n", 414);
        Add("header too large", "GET / HTTP/1.1\r\n" + H + "X-Big: " + new string('b', 40_000) + "\r\n\r\n", 431);
        Add("too many headers", "GET / HTTP/1.1\r\n" + H + string.Concat(Enumerable.Range(0, 150).Select(i => $"X-{i}: v\r\n")) + "\r\n", 431);
        Add("body too large", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 2000000\r\n\r\n", 413);
        Add("chunked too large", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n200000\r\n", 413);
        // --- chunked framing
        Add("chunk size garbage", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", 400);
        Add("chunk size 0x", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400);
        Add("chunk size negative", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", 400);
        Add("chunk size overflow", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n\r\n", 400);
        Add("chunk size leading space", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n", 400);
        Add("chunk size empty", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 400);
        Add("chunk no crlf after data", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400);
        Add("chunk bare lf", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400);
        Add("chunk ext bare cr", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n", 400);
        Add("trailer obs-fold", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n0\r\nT: a\r\n b\r\n\r\n", 400);
        // --- expectations and truncation
        Add("bad expect", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 1\r\nExpect: 200-ok\r\n\r\nx", 417);
        Add("incomplete head (timeout)", "GET / HTTP/1.1\r\n" + H, 408);
        Add("short body (timeout)", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 10\r\n\r\nabc", 408);
        Add("unterminated chunked (timeout)", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", 408);
        return d;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task Hostile_GetsErrorAndClose(string name, string request, int? expected)
    {
        await using var f = await ServerFixture.StartAsync(Tight);
        var r = await SendAsync(f.EndPoint, Ascii(request), TimeSpan.FromSeconds(8));
        Assert.True(r.Closed, $"{name}: connection not closed; got: {r.Text}");
        if (expected is { } st) Assert.True(r.Status == st, $"{name}: expected {st}, got: {r.Text}");
        else Assert.True(r.Status is null or (>= 400 and < 600), $"{name}: got: {r.Text}");
        // exactly one response: nothing after a refused request is ever parsed (no smuggled second request)
        Assert.True(System.Text.RegularExpressions.Regex.Matches(r.Text, "HTTP/1.1 [0-9]{3} ").Count <= 1, $"{name}: {r.Text}");
        var ok = await SendAsync(f.EndPoint, Ascii("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        Assert.Equal(200, ok.Status);
        Assert.False(f.Root.IsCompleted);
        Assert.DoesNotContain(f.Runtime.Diagnostics.Recent, e => e.Kind == DiagnosticKind.UnhandledStepException);
    }

    [Theory]
    [InlineData("localhost:8080")]
    [InlineData("example.com")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]:80")]
    [InlineData("[v1.fe80::a+en1]")]
    [InlineData("a-b.c_d~e:")]
    [InlineData("%41bc")]
    [InlineData("")]
    public async Task ValidHost_IsServed(string host)
    {
        await using var f = await ServerFixture.StartAsync(Tight);
        var r = await SendAsync(f.EndPoint, Ascii($"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"));
        Assert.True(r.Status == 200, $"Host '{host}': {r.Text}");
    }

    /// <summary>
    /// A TLS ClientHello (or any byte that cannot begin a request line) is refused with 400 at once: with a header
    /// budget of ten minutes, the old server sat silent for all of it.
    /// </summary>
    [Fact]
    public async Task NonHttpFirstByte_IsRefusedAtOnce()
    {
        await using var f = await ServerFixture.StartAsync(Tight with { HeaderReadTimeout = TimeSpan.FromMinutes(10) });
        var hello = new byte[] { 0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03 };
        var r = await SendAsync(f.EndPoint, hello, TimeSpan.FromSeconds(30));
        Assert.Equal(400, r.Status);
        Assert.True(r.Closed);
        // a request can still start with empty lines, and with any token character
        var ok = await SendAsync(f.EndPoint, Ascii("\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        Assert.Equal(200, ok.Status);
    }

    [Fact]
    public async Task RandomMutations_NeverCrashOrHang()
    {
        var bases = new[]
        {
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        };
        await using var f = await ServerFixture.StartAsync(Tight);
        var rng = new Random(20261128);
        const int Cases = 240;
        var cases = new List<byte[]>();
        for (int i = 0; i < Cases; i++)
        {
            var b = new List<byte>(Ascii(bases[rng.Next(bases.Length)]));
            int edits = 1 + rng.Next(4);
            for (int e = 0; e < edits; e++)
            {
                int pos = rng.Next(b.Count);
                switch (rng.Next(6))
                {
                    case 0: b[pos] = (byte)rng.Next(256); break;
                    case 1: b.Insert(pos, (byte)rng.Next(256)); break;
                    case 2: b.RemoveAt(pos); break;
                    case 3: b.Insert(pos, "\r\n :\0\t"u8[rng.Next(6)]); break;
                    case 4: b.InsertRange(pos, b.GetRange(pos, Math.Min(rng.Next(12), b.Count - pos))); break;
                    default: b.RemoveRange(pos, b.Count - pos); break;
                }
                if (b.Count == 0) b.Add((byte)'G');
            }
            cases.Add(b.ToArray());
        }
        var results = new List<Result>();
        foreach (var batch in cases.Chunk(24))
        {
            results.AddRange(await Task.WhenAll(batch.Select(c => SendAsync(f.EndPoint, c, TimeSpan.FromSeconds(8), halfClose: true))).WaitAsync(ServerFixture.Bound));
        }
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            Assert.True(r.Closed, $"case {i} not closed: {r.Text}");
            Assert.True(r.Status is null or (>= 100 and < 600), $"case {i}: {r.Text}");
        }
        Assert.Equal(200, (await SendAsync(f.EndPoint, Ascii(bases[0]))).Status);
        Assert.False(f.Root.IsCompleted);
        Assert.DoesNotContain(f.Runtime.Diagnostics.Recent, e => e.Kind == DiagnosticKind.UnhandledStepException);
        var o = await f.StopAsync();
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(0, f.Server.ActiveConnections);
        Assert.Equal(0, f.Runtime.Diagnostics.ObligationsLeaked);
    }
}
