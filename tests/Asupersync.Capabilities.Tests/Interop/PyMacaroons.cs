using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Asupersync.Macaroons.Tests.Interop;

/// <summary>
/// Runs pymacaroons (Debian's python3-pymacaroons; CI installs it) through a small bridge script. The interpreter is the
/// first of /usr/bin/python3 and python3 that can import pymacaroons; when none can, the test fails with how to install it
/// — it never skips.
/// </summary>
internal static class PyMacaroons
{
    private static readonly Lazy<string> s_python = new(FindPython);

    internal static string Python => s_python.Value;

    /// <summary>The pymacaroons version the last batch ran with (Debian bookworm: 0.13.0).</summary>
    internal static string? Version { get; private set; }

    private static string FindPython()
    {
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var (code, _, _) = Exec(candidate, ["-c", "import pymacaroons, nacl"], "", TimeSpan.FromSeconds(30));
                if (code == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // not installed under that name
            }
        }
        throw new InvalidOperationException("pymacaroons is not installed: apt-get install -y python3-pymacaroons (the interop tests need it; .ci/run installs it)");
    }

    /// <summary>Runs a batch of operations; returns the results array (one per operation).</summary>
    internal static JsonArray Run(JsonArray ops)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "pymacaroons_bridge.py");
        var (code, stdout, stderr) = Exec(Python, [script], ops.ToJsonString(), TimeSpan.FromSeconds(120));
        Assert.True(code == 0, $"pymacaroons bridge exited {code}: {stderr}");
        var doc = JsonNode.Parse(stdout)!;
        Version = (string?)doc["pymacaroons"];
        return doc["results"]!.AsArray();
    }

    internal static JsonNode RunOne(JsonObject op) => Run([op])[0]!;

    private static (int, string, string) Exec(string file, string[] args, string stdin, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using var p = Process.Start(psi)!;
        var outTask = p.StandardOutput.ReadToEndAsync();
        var errTask = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish within {timeout}");
        }
        return (p.ExitCode, outTask.GetAwaiter().GetResult(), errTask.GetAwaiter().GetResult());
    }
}
