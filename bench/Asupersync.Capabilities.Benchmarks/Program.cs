using System.Diagnostics;
using System.Text.Json.Nodes;
using Asupersync.Macaroons.Benchmarks;
using BenchmarkDotNet.Running;

// Runs the BenchmarkDotNet suite, then the same three operations in pymacaroons (for scale), in one run.
//   dotnet run -c Release --project bench/Asupersync.Capabilities.Benchmarks [-- <BenchmarkDotNet args>]
BenchmarkSwitcher.FromTypes([typeof(MacaroonBenchmarks)]).Run(args);

var script = Path.Combine(AppContext.BaseDirectory, "pymacaroons_bridge.py");
foreach (var python in new[] { "/usr/bin/python3", "python3" })
{
    try
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        p.StandardInput.Write("[{\"op\":\"timing\",\"iterations\":3000}]");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)) || p.ExitCode != 0) continue;
        var doc = JsonNode.Parse(stdout)!;
        var r = doc["results"]![0]!;
        Console.WriteLine($"pymacaroons {doc["pymacaroons"]} ({python}), best of 5 × 3000: mint {(double)r["mint_us"]!:F2} µs, mint + 10 caveats {(double)r["attenuate_us"]!:F2} µs, verify 10 exact caveats {(double)r["verify_us"]!:F2} µs");
        return 0;
    }
    catch (System.ComponentModel.Win32Exception)
    {
        // try the next interpreter
    }
}
Console.WriteLine("pymacaroons not available (apt-get install -y python3-pymacaroons)");
return 0;
