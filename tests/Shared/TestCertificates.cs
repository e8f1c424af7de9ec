using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Asupersync.Tests.Shared;

/// <summary>
/// A self-signed certificate for <c>localhost</c> / 127.0.0.1, made in-process for the TLS tests (linked into each
/// test project that needs one, so there is one helper, not one per project).
/// </summary>
internal static class TestCertificates
{
    /// <summary>One certificate per test process (RSA 2048 key generation is slow on a loaded machine).</summary>
    internal static readonly X509Certificate2 Localhost = SelfSigned();

    /// <summary>A new self-signed certificate with its private key, valid from yesterday for a week.</summary>
    /// <returns>The certificate (loaded from PKCS#12, so its key is usable by SslStream on every platform).</returns>
    internal static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }
}
