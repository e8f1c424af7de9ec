using System.Security.Cryptography;
using System.Text;
using Asupersync.Macaroons;
using BenchmarkDotNet.Attributes;

namespace Asupersync.Macaroons.Benchmarks;

/// <summary>
/// Mint, attenuate (10 first-party caveats) and verify a 10-caveat token. The baseline is the irreducible work of a
/// verification: the 11 HMAC-SHA256 computations of the chain (identifier, 10 caveats; a single-key verifier derives
/// its key once) done directly with <see cref="HMACSHA256.HashData(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/>.
/// </summary>
[MemoryDiagnoser]
public class MacaroonBenchmarks
{
    private static readonly byte[] s_key = Encoding.UTF8.GetBytes("this is a benchmark root key, 32b");
    private static readonly string[] s_exact = Enumerable.Range(0, 10).Select(i => $"caveat {i} = value {i}").ToArray();
    private static readonly Caveat[] s_builtIn =
    [
        Caveat.TimeBefore(new DateTimeOffset(2040, 1, 1, 0, 0, 0, TimeSpan.Zero)), Caveat.TimeAfter(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero)),
        Caveat.ResourceScope("http:GET:/orders/*"), Caveat.ResourceScope("http:*:/orders/**"), Caveat.RegionScope(1), Caveat.TaskScope(7),
        Caveat.Custom("tenant", "acme"), Caveat.Custom("plan", "gold"), Caveat.TimeBefore(new DateTimeOffset(2039, 1, 1, 0, 0, 0, TimeSpan.Zero)), Caveat.Custom("region", "eu"),
    ];

    private Macaroon _exactToken = null!;
    private Macaroon _builtInToken = null!;
    private MacaroonVerifier _exactVerifier = null!;
    private MacaroonVerifier _builtInVerifier = null!;
    private CaveatContext _context = null!;
    private byte[][] _caveatBytes = null!;
    private byte[] _derived = null!;

    [GlobalSetup]
    public void Setup()
    {
        _exactToken = Attenuate10();
        _builtInToken = Macaroon.Create(s_key, "bench-id", "bench").Attenuate(s_builtIn);
        _exactVerifier = new MacaroonVerifier(s_key);
        foreach (var c in s_exact) _exactVerifier.SatisfyExact(c);
        _builtInVerifier = new MacaroonVerifier(s_key).AddCustom("tenant", (v, _) => v == "acme").AddCustom("plan", (v, _) => v == "gold").AddCustom("region", (v, _) => v == "eu");
        _context = new CaveatContext { Now = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), Resource = "http:GET:/orders/42", TaskId = 7, RegionPath = [3, 1] };
        _caveatBytes = s_exact.Select(Encoding.UTF8.GetBytes).ToArray();
        _derived = HMACSHA256.HashData("macaroons-key-generator"u8, s_key);
        if (!VerifyExact() || !VerifyBuiltIn()) throw new InvalidOperationException("the benchmark tokens must verify");
    }

    [Benchmark(Baseline = true, Description = "11 × HMACSHA256.HashData (the chain's raw cost)")]
    public byte RawHmacChain()
    {
        Span<byte> a = stackalloc byte[32];
        Span<byte> b = stackalloc byte[32];
        HMACSHA256.HashData(_derived, "bench-id"u8, b);
        foreach (var c in _caveatBytes)
        {
            HMACSHA256.HashData(b, c, a);
            a.CopyTo(b);
        }
        return b[0];
    }

    [Benchmark(Description = "mint")]
    public Macaroon Mint() => Macaroon.Create(s_key, "bench-id", "bench");

    [Benchmark(Description = "mint + attenuate with 10 caveats")]
    public Macaroon Attenuate10()
    {
        var m = Macaroon.Create(s_key, "bench-id", "bench");
        foreach (var c in s_exact) m = m.AddFirstPartyCaveat(c);
        return m;
    }

    [Benchmark(Description = "verify, 10 exact caveats")]
    public bool VerifyExact() => _exactVerifier.Verify(_exactToken, _context).IsAuthorized;

    [Benchmark(Description = "verify, 10 built-in/custom caveats")]
    public bool VerifyBuiltIn() => _builtInVerifier.Verify(_builtInToken, _context).IsAuthorized;

    [Benchmark(Description = "parse (binary v2) + verify, 10 exact caveats")]
    public bool ParseAndVerify() => _exactVerifier.Verify(Macaroon.Parse(_serialized ??= _exactToken.Serialize()), _context).IsAuthorized;

    private string? _serialized;
}
