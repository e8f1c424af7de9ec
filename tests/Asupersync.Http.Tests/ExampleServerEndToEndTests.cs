using System.Diagnostics;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;

namespace Asupersync.Http.Tests;

/// <summary>Runs the built examples/Server as a process, drives it with HttpClient and curl, stops it with SIGINT.</summary>
public class ExampleServerEndToEndTests
{
    internal static string FindServerDll()
    {
        // tests/Asupersync.Http.Tests/bin/<Configuration>/<tfm>/ → examples/Server/bin/<Configuration>/<tfm>/Server.dll
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = here.Name;
        var config = here.Parent!.Name;
        var dir = here;
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Asupersync.slnx"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var dll = Path.Combine(dir!.FullName, "examples", "Server", "bin", config, tfm, "Server.dll");
        Assert.True(File.Exists(dll), $"example server not built at {dll}");
        return dll;
    }

    private static string? OnPath(string exe) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, exe)).FirstOrDefault(File.Exists);

    /// <summary>SIGINT is ignored by children of a shell that started us in the background; then only SIGTERM reaches the server.</summary>
    internal static bool SigintIgnoredHere()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            return line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & 0x2) != 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunCurl(string curl, params string[] args)
    {
        var psi = new ProcessStartInfo(curl) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (p.ExitCode, await o, await e);
    }

    [Fact]
    public async Task ExampleServer_ServesHttp_AndExitsZeroOnSigint()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // signals via /bin/kill
        var dll = FindServerDll();
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("127.0.0.1:0");
        using var proc = Process.Start(psi)!;
        var stdout = new StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        proc.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            var m = Regex.Match(e.Data, @"listening on (http://[0-9.]+:[0-9]+/)");
            if (m.Success) listening.TrySetResult(m.Groups[1].Value);
        };
        var stderr = new StringBuilder();
        proc.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        proc.BeginOutputReadLine();
        proc.BeginErrorReadLine();
        try
        {
            var baseUrl = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));

            using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
            {
                Assert.Equal("hello from asupersync\n", await http.GetStringAsync(baseUrl));
                var echo = await http.PostAsync(baseUrl + "echo", new StringContent("ping over HttpClient"));
                Assert.Equal(System.Net.HttpStatusCode.OK, echo.StatusCode);
                Assert.Equal("ping over HttpClient", await echo.Content.ReadAsStringAsync());
                var missing = await http.GetAsync(baseUrl + "missing");
                Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
            }

            if (OnPath("curl") is { } curl)
            {
                var get = await RunCurl(curl, "-sS", "-m", "10", baseUrl);
                Assert.True(get.Code == 0, get.Stderr);
                Assert.Equal("hello from asupersync\n", get.Stdout);
                var post = await RunCurl(curl, "-sS", "-m", "10", "--data-binary", "ping over curl", baseUrl + "echo");
                Assert.Equal("ping over curl", post.Stdout);
                // curl sends Expect: 100-continue for bodies over 1 KiB
                var big = new string('q', 5000);
                var chunked = await RunCurl(curl, "-sS", "-m", "10", "-H", "Transfer-Encoding: chunked", "--data-binary", big, baseUrl + "echo");
                Assert.Equal(big, chunked.Stdout);
            }

            // An idle keep-alive connection is open while the signal arrives: it must be drained, not block the exit.
            using var idle = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            Assert.Equal("hello from asupersync\n", await idle.GetStringAsync(baseUrl));

            var signal = SigintIgnoredHere() ? "-TERM" : "-INT";
            using (var kill = Process.Start("/bin/kill", [signal, proc.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
                Assert.Equal(0, kill.ExitCode);
            }
            await proc.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            proc.WaitForExit(); // flush redirected output
            string output;
            lock (stdout) output = stdout.ToString();
            Assert.True(proc.ExitCode == 0, $"exit code {proc.ExitCode}\nstdout:\n{output}\nstderr:\n{stderr}");
            var summary = Regex.Match(output, @"stopped: (\d+) responses \([^)]*\); connections (\d+) served, (\d+) drained, (\d+) cancelled");
            Assert.True(summary.Success, output);
            Assert.True(int.Parse(summary.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 4, output);
            Assert.True(int.Parse(summary.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) >= 1, "the idle keep-alive connection should count as drained: " + output);
            Assert.Equal("0", summary.Groups[4].Value);
        }
        finally
        {
            if (!proc.HasExited) proc.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task ExampleServer_Tls_SelfSigned_ServesHttps_AndDrainsHandshakesOnSigint()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // signals via /bin/kill
        var dll = FindServerDll();
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("127.0.0.1:0");
        psi.ArgumentList.Add("--tls");
        using var proc = Process.Start(psi)!;
        var stdout = new StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        proc.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            var m = Regex.Match(e.Data, @"listening on (https://[0-9.]+:[0-9]+/)");
            if (m.Success) listening.TrySetResult(m.Groups[1].Value);
        };
        var stderr = new StringBuilder();
        proc.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        proc.BeginOutputReadLine();
        proc.BeginErrorReadLine();
        try
        {
            var baseUrl = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var uri = new Uri(baseUrl);
            if (OnPath("curl") is { } curl)
            {
                var get = await RunCurl(curl, "-sS", "--insecure", "-m", "10", baseUrl);
                Assert.True(get.Code == 0, get.Stderr);
                Assert.Equal("hello from asupersync\n", get.Stdout);
            }

            // A client that connected and never began its handshake, then an idle HTTPS keep-alive connection.
            using var silent = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await silent.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, uri.Port)).WaitAsync(TimeSpan.FromSeconds(10));
            using var idle = new HttpClient(new SocketsHttpHandler
            {
                SslOptions = new System.Net.Security.SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            })
            { Timeout = TimeSpan.FromSeconds(10) };
            Assert.Equal("hello from asupersync\n", await idle.GetStringAsync(baseUrl));
            var echo = await idle.PostAsync(baseUrl + "echo", new StringContent("ping over https"));
            Assert.Equal("ping over https", await echo.Content.ReadAsStringAsync());

            var signal = SigintIgnoredHere() ? "-TERM" : "-INT";
            using (var kill = Process.Start("/bin/kill", [signal, proc.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
                Assert.Equal(0, kill.ExitCode);
            }
            await proc.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20)); // well before the 10 s handshake budget would matter
            proc.WaitForExit(); // flush redirected output
            string output;
            lock (stdout) output = stdout.ToString();
            Assert.True(proc.ExitCode == 0, $"exit code {proc.ExitCode}\nstdout:\n{output}\nstderr:\n{stderr}");
            var summary = Regex.Match(output, @"stopped: (\d+) responses \([^)]*\); connections (\d+) served, (\d+) drained, (\d+) cancelled");
            Assert.True(summary.Success, output);
            Assert.True(int.Parse(summary.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) >= 2, "the handshaking and the idle connections should count as drained: " + output);
        }
        finally
        {
            if (!proc.HasExited) proc.Kill(entireProcessTree: true);
        }
    }
}
