using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Asupersync.TestSupport;

/// <summary>
/// The PostgreSQL server the tests that need one use: <c>ASUPERSYNC_PG</c> when it is set (as <c>.ci/run</c> sets it),
/// otherwise a throwaway cluster started once per test process with the repository's <c>.ci/postgres.sh</c> (which
/// installs Debian's postgresql when run as root and it is missing) and stopped when the process exits. So the README's
/// plain <c>dotnet test</c> runs these tests too; without a way to get a server they fail with the reason, never skip.
/// </summary>
internal static partial class TestPostgres
{
    private static readonly Lazy<string> Server = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The connection string (the database the cluster was created with).</summary>
    internal static string ConnectionString => Server.Value;

    private static string Start()
    {
        if (Environment.GetEnvironmentVariable("ASUPERSYNC_PG") is { Length: > 0 } given) return given;
        var script = FindScript() ?? throw new InvalidOperationException(
            "ASUPERSYNC_PG is not set and .ci/postgres.sh was not found above " + AppContext.BaseDirectory +
            ": these tests need a PostgreSQL server. Start one with: eval \"$(bash .ci/postgres.sh start)\"");
        // Each test process takes its own port range so that two test projects starting at once do not collide.
        int port = 55000 + (Environment.ProcessId % 400) * 2;
        var (rc, output, error) = RunScript(script, "start", ("PGPORT", port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var cs = Export().Match(output);
        var dir = ExportDir().Match(output);
        if (rc != 0 || !cs.Success || !dir.Success)
        {
            throw new InvalidOperationException(
                $"ASUPERSYNC_PG is not set and starting a throwaway PostgreSQL with {script} failed (exit {rc}): {error.Trim()}");
        }
        string connection = cs.Groups[1].Value, dataDir = dir.Groups[1].Value;
        // Child processes (the saga crash worker) read the variable too.
        Environment.SetEnvironmentVariable("ASUPERSYNC_PG", connection);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => RunScript(script, "stop", ("ASUPERSYNC_PG_DIR", dataDir));
        return connection;
    }

    private static string? FindScript()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, ".ci", "postgres.sh");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static (int Rc, string Output, string Error) RunScript(string script, string verb, (string Name, string Value) env)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(verb);
        psi.Environment[env.Name] = env.Value;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start bash");
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        // Installing the package can take minutes on a fresh machine; the bound only keeps a wedged script from hanging.
        if (!p.WaitForExit(TimeSpan.FromMinutes(10))) p.Kill(entireProcessTree: true);
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.GetAwaiter().GetResult());
    }

    [GeneratedRegex("export ASUPERSYNC_PG='([^']*)'")]
    private static partial Regex Export();

    [GeneratedRegex("export ASUPERSYNC_PG_DIR='([^']*)'")]
    private static partial Regex ExportDir();
}
