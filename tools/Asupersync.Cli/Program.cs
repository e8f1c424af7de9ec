using System.CommandLine;
using System.CommandLine.Invocation;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Asupersync.Lab;
using Asupersync.Lab.Campaigns;
using Asupersync.Lab.Exploration;

namespace Asupersync.Cli;

/// <summary>The process exit codes of <c>asupersync</c>; every bad input is one <c>error:</c> line on standard error and one of these.</summary>
internal static class ExitCodes
{
    /// <summary>Success: the run passed, the replay matched, the exploration or campaign found nothing.</summary>
    internal const int Ok = 0;

    /// <summary>The program failed: a failing schedule, a violated invariant, a rate above its p₀, a replay that diverged.</summary>
    internal const int Failed = 1;

    /// <summary>A bad command line: unknown option or command, a missing required option, a value out of range.</summary>
    internal const int BadOptions = 2;

    /// <summary>A campaign asked for a target bound and its budget ran out first.</summary>
    internal const int Inconclusive = 3;

    /// <summary>A file or folder named on the command line does not exist (or cannot be read or written).</summary>
    internal const int MissingFile = 4;

    /// <summary>A file is not what it should be: not a trace, a corrupted trace, not a result file, an unknown version.</summary>
    internal const int BadFile = 5;

    /// <summary>The program cannot be loaded: not a .NET assembly, no such type, no such method, wrong signature.</summary>
    internal const int UnknownProgram = 6;

    /// <summary>A bug in asupersync itself (an unexpected exception); the line says how to get the stack.</summary>
    internal const int Internal = 70;
}

/// <summary>A bad input, with its exit code.</summary>
internal sealed class CliException(int exitCode, string message) : Exception(message)
{
    internal int ExitCode { get; } = exitCode;
}

/// <summary>The <c>asupersync</c> command-line tool.</summary>
internal sealed class Cli
{
    /// <summary>Set to 1 to print the stack of an internal error.</summary>
    internal const string DebugVariable = "ASUPERSYNC_CLI_DEBUG";

    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly bool _terminal;
    private readonly Func<string, string?> _environment;

    private readonly Option<bool> _json = new("--json") { Description = "Print the result as one JSON object on standard output (progress and errors stay on standard error).", Recursive = true };
    private readonly Option<bool> _quiet = new("--quiet", "-q") { Description = "No progress display.", Recursive = true };

    /// <param name="stdout">Where results go.</param>
    /// <param name="stderr">Where progress and errors go.</param>
    /// <param name="terminal">Standard error is a terminal (a live progress bar; otherwise progress lines).</param>
    /// <param name="environment">Reads an environment variable (the shard defaults); default the process's.</param>
    internal Cli(TextWriter stdout, TextWriter stderr, bool terminal, Func<string, string?>? environment = null)
    {
        _out = stdout;
        _err = stderr;
        _terminal = terminal;
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    private static int Main(string[] args) =>
        new Cli(Console.Out, Console.Error, terminal: !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb")).Run(args);

    /// <summary>Parses and runs a command line; returns the exit code.</summary>
    internal int Run(string[] args)
    {
        // A plain command named asupersync, not RootCommand (which names itself after the assembly, Asupersync.Cli).
        var root = new Command("asupersync", "Run, replay and explore Lab programs, run sharded anytime-valid campaigns, render traces, measure the Lab.")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
        };
        foreach (var c in new[] { ShowCommand(), RenderCommand(), ReplayCommand(), RunCommand(), ExploreCommand(), CampaignCommand(), MergeCommand(), BenchCommand(), DemoCommand() })
            root.Subcommands.Add(c);
        root.Options.Add(_json);
        root.Options.Add(_quiet);
        var parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            string command = parsed.CommandResult.Command == root ? "asupersync" : "asupersync " + parsed.CommandResult.Command.Name;
            // Every error on one line, the unrecognised token (a typo) first.
            var messages = parsed.Errors.Select(e => OneLine(e.Message)).Distinct().OrderBy(m => m.StartsWith("Unrecognized", StringComparison.Ordinal) ? 0 : 1).Take(3);
            _err.WriteLine($"error: {string.Join("; ", messages)} (see `{command} --help`)");
            return ExitCodes.BadOptions;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = _out, Error = _err, EnableDefaultExceptionHandler = false });
    }

    private void SetAction(Command command, Func<ParseResult, int> body) => command.SetAction(pr => Guard(() => body(pr)));

    private int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            var (code, message) = Classify(e);
            _err.WriteLine("error: " + OneLine(message));
            if (code == ExitCodes.Internal && Environment.GetEnvironmentVariable(DebugVariable) == "1") _err.WriteLine(e);
            return code;
        }
    }

    internal static (int Code, string Message) Classify(Exception e) => e switch
    {
        CliException c => (c.ExitCode, c.Message),
        FileNotFoundException or DirectoryNotFoundException => (ExitCodes.MissingFile, e.Message),
        UnauthorizedAccessException => (ExitCodes.MissingFile, e.Message),
        InvalidDataException or JsonException => (ExitCodes.BadFile, e.Message),
        BadImageFormatException or FileLoadException or TypeLoadException or MissingMethodException => (ExitCodes.UnknownProgram, e.Message),
        ArgumentException or FormatException => (ExitCodes.BadOptions, e.Message),
        IOException => (ExitCodes.MissingFile, e.Message),
        _ => (ExitCodes.Internal, $"internal error ({e.GetType().Name}): {e.Message} — this is a bug in asupersync; {DebugVariable}=1 prints the stack"),
    };

    private static string OneLine(string s) => ExploreShardResult.OneLine(s);

    private bool Json(ParseResult pr) => pr.GetValue(_json);

    private ProgressDisplay Progress(ParseResult pr) =>
        new(_err, pr.GetValue(_quiet) ? ProgressMode.None : _terminal ? ProgressMode.Live : ProgressMode.Lines);

    private void WriteJson(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        _out.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }

    /// <summary>Where outputs go when no <c>--out</c> is given: a folder under the temp directory, never the current one.</summary>
    internal static string DefaultOutputDirectory(string what) => Path.Combine(Path.GetTempPath(), "asupersync", what);

    // ----- options shared by the program commands ------------------------------------------------------------------

    private static Option<string> AssemblyOption() => new("--assembly", "-a") { Description = "The assembly (.dll) that contains the program.", Required = true };

    private static Option<string> ProgramOption() => new("--program", "-p") { Description = "The program: Namespace.Type.Method, a static method taking Cx and returning Task.", Required = true };

    private static Argument<string> TraceArgument() => new("trace") { Description = "A trace file written by the Lab (JSON)." };

    private static Option<string> ChaosOption() => new("--chaos") { Description = "Chaos preset: none, light, heavy, delays, network.", DefaultValueFactory = _ => "none" };

    private static Asupersync.Lab.Chaos.ChaosOptions Chaos(string preset) => Asupersync.Lab.Chaos.ChaosOptions.Preset(preset);

    /// <summary>Loads <c>Namespace.Type.Method</c> from an assembly; every way it can fail is an <see cref="ExitCodes.UnknownProgram"/> (or a missing file).</summary>
    internal static Func<Cx, Task> LoadProgram(string assemblyPath, string program)
    {
        if (!File.Exists(assemblyPath)) throw new CliException(ExitCodes.MissingFile, $"no such assembly: {assemblyPath}");
        int dot = program.LastIndexOf('.');
        if (dot <= 0 || dot == program.Length - 1) throw new CliException(ExitCodes.BadOptions, $"--program '{program}' is not Namespace.Type.Method");
        Assembly asm;
        try
        {
            asm = Assembly.LoadFrom(Path.GetFullPath(assemblyPath));
        }
        catch (BadImageFormatException)
        {
            throw new CliException(ExitCodes.UnknownProgram, $"{assemblyPath} is not a .NET assembly");
        }
        string typeName = program[..dot], methodName = program[(dot + 1)..];
        var type = asm.GetType(typeName, throwOnError: false)
                   ?? throw new CliException(ExitCodes.UnknownProgram, $"{assemblyPath} has no type {typeName}{Candidates(asm)}");
        var method = type.GetMethod(methodName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, [typeof(Cx)])
                     ?? throw new CliException(ExitCodes.UnknownProgram, $"{typeName} has no static method {methodName}(Cx){Candidates(asm)}");
        if (method.ReturnType != typeof(Task)) throw new CliException(ExitCodes.UnknownProgram, $"{typeName}.{methodName}(Cx) returns {method.ReturnType.Name}, not Task");
        return method.CreateDelegate<Func<Cx, Task>>();
    }

    /// <summary>A few programs the assembly does have, to help with a typo.</summary>
    private static string Candidates(Assembly asm)
    {
        IEnumerable<Type> types;
        try
        {
            types = asm.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            types = e.Types.OfType<Type>();
        }
        var found = types
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Where(m => m.ReturnType == typeof(Task) && m.GetParameters() is [{ } p] && p.ParameterType == typeof(Cx))
                .Select(m => $"{t.FullName}.{m.Name}"))
            .Order(StringComparer.Ordinal)
            .Take(6)
            .ToList();
        return found.Count == 0 ? " (it has no public static Task M(Cx) method)" : $" (programs it has: {string.Join(", ", found.Take(5))}{(found.Count > 5 ? ", …" : "")})";
    }

    private static string Quote(string s) => s.Contains(' ', StringComparison.Ordinal) || s.Contains('\'', StringComparison.Ordinal) ? "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'" : s;

    /// <summary>Replay hints that work where they are printed: this tool, with the same assembly and program.</summary>
    private static IEnumerable<string> ReplayHints(string assembly, string program, string? trace, string? handle)
    {
        string asm = Quote(Path.GetFullPath(assembly));
        if (trace is not null) yield return $"  replay: asupersync replay -a {asm} -p {program} {Quote(trace)}";
        if (handle is not null) yield return $"  or:     asupersync run -a {asm} -p {program} --schedule '{handle}'";
    }

    // ----- show, render ----------------------------------------------------------------------------------------------

    private Command ShowCommand()
    {
        var trace = TraceArgument();
        var cmd = new Command("show", "Checks a trace file's integrity and prints its summary and failures; exit 1 when it records a failure.");
        cmd.Arguments.Add(trace);
        SetAction(cmd, pr =>
        {
            var t = LoadTrace(pr.GetValue(trace)!);
            if (Json(pr))
            {
                WriteJson(w =>
                {
                    w.WriteString("command", "show");
                    if (t.ProgramName is null) w.WriteNull("program");
                    else w.WriteString("program", t.ProgramName);
                    w.WriteNumber("seed", t.Seed);
                    w.WriteString("strategy", t.Strategy);
                    w.WriteNumber("steps", t.Decisions.Count);
                    w.WriteNumber("events", t.Events.Count);
                    w.WriteString("hash", t.Hash.ToString("x16", CultureInfo.InvariantCulture));
                    WriteFailures(w, t.Failures);
                });
            }
            else
            {
                _out.WriteLine($"program {t.ProgramName ?? "(unnamed)"}, seed {t.Seed}, strategy {t.Strategy}, {t.Decisions.Count} steps, {t.Events.Count} events, hash {t.Hash:x16}");
                foreach (var f in t.Failures) _out.WriteLine("  " + f);
            }
            return t.Failures.Count == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return cmd;
    }

    /// <summary>Loads a trace; a file that is not one is a <see cref="ExitCodes.BadFile"/>.</summary>
    internal static LabTrace LoadTrace(string path)
    {
        if (!File.Exists(path)) throw new CliException(ExitCodes.MissingFile, $"no such trace file: {path}");
        try
        {
            return LabTrace.Load(path);
        }
        catch (InvalidDataException e) when (e.InnerException is JsonException j)
        {
            throw new CliException(ExitCodes.BadFile, $"{path} is not a Lab trace (not JSON: {j.Message})");
        }
        catch (InvalidDataException e)
        {
            throw new CliException(ExitCodes.BadFile, $"{path} is not a valid Lab trace: {e.Message}");
        }
    }

    private static void WriteFailures(Utf8JsonWriter w, IEnumerable<LabFailure> failures)
    {
        w.WriteStartArray("failures");
        foreach (var f in failures)
        {
            w.WriteStartObject();
            w.WriteString("oracle", f.Oracle);
            w.WriteNumber("step", f.Step);
            w.WriteString("message", f.Message);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private Command RenderCommand()
    {
        var trace = TraceArgument();
        var output = new Option<string?>("--out", "-o", "--output") { Description = "The HTML file to write (default: the trace's path with .html)." };
        var title = new Option<string?>("--title") { Description = "The page title." };
        var cmd = new Command("render", "Renders a trace file as a self-contained HTML timeline.");
        cmd.Arguments.Add(trace);
        cmd.Options.Add(output);
        cmd.Options.Add(title);
        SetAction(cmd, pr =>
        {
            var path = pr.GetValue(trace)!;
            var outPath = pr.GetValue(output) ?? Path.ChangeExtension(path, ".html");
            var t = LoadTrace(path);
            if (Path.GetDirectoryName(Path.GetFullPath(outPath)) is { } dir) Directory.CreateDirectory(dir);
            t.SaveHtml(outPath, pr.GetValue(title));
            if (Json(pr)) WriteJson(w => w.WriteString("html", Path.GetFullPath(outPath)));
            else _out.WriteLine(outPath);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    // ----- replay, run -----------------------------------------------------------------------------------------------

    private Command ReplayCommand()
    {
        var trace = TraceArgument();
        var asm = AssemblyOption();
        var prog = ProgramOption();
        var html = new Option<string?>("--html") { Description = "Also write the replayed trace as HTML." };
        var cmd = new Command("replay", "Replays a trace file against its program; exit 0 when the replay matches the trace, 1 when it diverges.");
        cmd.Arguments.Add(trace);
        cmd.Options.Add(asm);
        cmd.Options.Add(prog);
        cmd.Options.Add(html);
        SetAction(cmd, pr =>
        {
            var t = LoadTrace(pr.GetValue(trace)!);
            var program = LoadProgram(pr.GetValue(asm)!, pr.GetValue(prog)!);
            var result = LabRuntime.Replay(t, program);
            if (pr.GetValue(html) is { } h) result.Trace.SaveHtml(h);
            bool diverged = result.OracleFailures.Any(f => f.Oracle == LabOracles.Determinism);
            if (Json(pr))
            {
                WriteJson(w =>
                {
                    w.WriteString("command", "replay");
                    w.WriteBoolean("matches", !diverged);
                    WriteRun(w, result);
                });
            }
            else
            {
                _out.WriteLine(diverged ? "replay DIVERGED from the trace:" : "replay matches the trace:");
                foreach (var line in Report(result)) _out.WriteLine(line);
            }
            return diverged ? ExitCodes.Failed : ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>A run's report without the test-runner replay hints (the CLI prints its own).</summary>
    private static IEnumerable<string> Report(LabRunResult result) =>
        result.Describe().ReplaceLineEndings("\n").Split('\n').Where(l => !l.StartsWith("  replay: ", StringComparison.Ordinal) && !l.StartsWith("  trace: ", StringComparison.Ordinal));

    private static void WriteRun(Utf8JsonWriter w, LabRunResult r)
    {
        w.WriteBoolean("passed", r.Passed);
        w.WriteNumber("seed", r.Seed);
        w.WriteString("strategy", r.Trace.Strategy);
        w.WriteNumber("steps", r.Steps);
        w.WriteNumber("virtualTimeMs", r.VirtualTime.TotalMilliseconds);
        w.WriteString("outcome", r.Outcome?.ToString() ?? "(root never closed)");
        WriteFailures(w, r.OracleFailures);
        if (r.TracePath is null) w.WriteNull("trace");
        else w.WriteString("trace", r.TracePath);
        w.WriteString("replayHandle", r.ReplayHandle);
    }

    private Command RunCommand()
    {
        var asm = AssemblyOption();
        var prog = ProgramOption();
        var seed = new Option<ulong>("--seed", "-s") { Description = "The seed." };
        var schedule = new Option<string?>("--schedule") { Description = "Replay a schedule exactly from its replay handle (lab2:seed:decisions, printed with every failure)." };
        var chaos = ChaosOption();
        var output = new Option<string?>("--out", "-o", "--save") { Description = "Write the trace (JSON) here, and an .html beside it. Default: a failing run's trace goes to a temp folder." };
        var cmd = new Command("run", "Runs a program once under a seed (or a replay handle) and prints the report; exit 1 when it fails.");
        foreach (var o in new Option[] { asm, prog, seed, schedule, chaos, output }) cmd.Options.Add(o);
        SetAction(cmd, pr =>
        {
            var program = LoadProgram(pr.GetValue(asm)!, pr.GetValue(prog)!);
            var options = new LabOptions { ProgramName = pr.GetValue(prog), Chaos = Chaos(pr.GetValue(chaos)!) };
            var result = pr.GetValue(schedule) is { } handle
                ? LabRuntime.ReplaySchedule(handle, program, options)
                : LabRuntime.Run(pr.GetValue(seed), program, options);
            if (pr.GetValue(output) is { } path)
            {
                result.SaveTrace(path: path);
                result.Trace.SaveHtml(Path.ChangeExtension(path, ".html"));
            }
            else if (!result.Passed)
            {
                result.SaveTrace(DefaultOutputDirectory("traces"));
            }
            if (Json(pr))
            {
                WriteJson(w =>
                {
                    w.WriteString("command", "run");
                    WriteRun(w, result);
                });
            }
            else
            {
                foreach (var line in Report(result)) _out.WriteLine(line);
                if (result.TracePath is not null) _out.WriteLine("  trace:  " + result.TracePath);
                if (!result.Passed)
                {
                    foreach (var line in ReplayHints(pr.GetValue(asm)!, pr.GetValue(prog)!, result.TracePath, result.ReplayHandle)) _out.WriteLine(line);
                }
            }
            return result.Passed ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return cmd;
    }

    // ----- explore ---------------------------------------------------------------------------------------------------

    /// <summary>The shard from <c>--shard</c>, or from the environment (Kubernetes Indexed Job, CI matrix), or the whole.</summary>
    private CampaignShard Shard(string? text)
    {
        var s = text is not null ? CampaignShard.Parse(text) : CampaignShard.FromEnvironment(_environment) ?? CampaignShard.Single;
        s.Validate();
        return s;
    }

    private Command ExploreCommand()
    {
        var asm = AssemblyOption();
        var prog = ProgramOption();
        var strategy = new Option<ExploreStrategy>("--strategy") { Description = "Portfolio (default: random + PCT + DPOR under one budget), Random, Pct, Dpor or Exhaustive.", DefaultValueFactory = _ => ExploreStrategy.Portfolio };
        var depth = new Option<int>("--pct-depth") { Description = "PCT depth d (d - 1 priority change points) for --strategy Pct.", DefaultValueFactory = _ => 3 };
        var declared = new Option<bool>("--declared-state") { Description = "The program declares all shared state (LabVar/LabAccess): full DPOR reduction. Default: undeclared (sound for plain fields)." };
        var max = new Option<int>("--max-schedules") { Description = "Schedule budget over all shards.", DefaultValueFactory = _ => 10_000 };
        var maxTime = new Option<double>("--max-seconds") { Description = "Wall-clock budget of this process, in seconds.", DefaultValueFactory = _ => 600 };
        var seed = new Option<ulong>("--seed") { Description = "Base seed (shard i explores with seed + i)." };
        var shard = new Option<string?>("--shard") { Description = "Run shard i of n (i/n): its share of the budget, base seed + i. Default: ASUPERSYNC_SHARD, or ASUPERSYNC_SHARD_INDEX / JOB_COMPLETION_INDEX with ASUPERSYNC_SHARD_COUNT." };
        var output = new Option<string?>("--out", "-o") { Description = "Result file (JSON, for `asupersync merge`). Default: explore-<i>-of-<n>.json in a temp folder." };
        var traces = new Option<string?>("--trace-dir") { Description = "Where to save a failing schedule's trace (default: next to the result file)." };
        var cmd = new Command("explore", "Explores a program's schedules (or one shard of them) and reports the first failure; exit 1 when one is found.");
        foreach (var o in new Option[] { asm, prog, strategy, depth, declared, max, maxTime, seed, shard, output, traces }) cmd.Options.Add(o);
        SetAction(cmd, pr =>
        {
            var s = Shard(pr.GetValue(shard));
            int budget = pr.GetValue(max);
            if (budget < s.Count) throw new CliException(ExitCodes.BadOptions, $"--max-schedules {budget} is less than the {s.Count} shards");
            if (pr.GetValue(depth) < 1) throw new CliException(ExitCodes.BadOptions, "--pct-depth must be at least 1");
            if (!(pr.GetValue(maxTime) > 0)) throw new CliException(ExitCodes.BadOptions, "--max-seconds must be positive");
            var program = LoadProgram(pr.GetValue(asm)!, pr.GetValue(prog)!);
            var outPath = pr.GetValue(output) ?? Path.Combine(DefaultOutputDirectory("explore"), $"explore-{s.Index}-of-{s.Count}.json");
            var traceDir = pr.GetValue(traces) ?? Path.GetDirectoryName(Path.GetFullPath(outPath))!;
            var plan = new ExplorePlan(pr.GetValue(prog)!, pr.GetValue(strategy), pr.GetValue(depth), pr.GetValue(declared), pr.GetValue(seed), budget, s.Count);
            var lab = new LabOptions { ProgramName = pr.GetValue(prog), TraceDirectory = traceDir };
            var display = Progress(pr);
            int shareBudget = plan.Budget(s.Index);
            var (result, _) = display.Run(s.IsSingle ? "explore" : $"explore {s}", shareBudget, update =>
                ExploreShardResult.Run(program, plan, s.Index, lab, TimeSpan.FromSeconds(pr.GetValue(maxTime)),
                    p => update(p.Schedules, ExploreProgressText(p), p.Finished), display.Interval));
            result.Save(outPath);
            if (Json(pr))
            {
                _out.WriteLine(result.ToJson());
            }
            else
            {
                _out.WriteLine(result.Describe());
                foreach (var f in result.Failures)
                {
                    foreach (var line in ReplayHints(pr.GetValue(asm)!, plan.Program, f.Trace, f.ReplayHandle)) _out.WriteLine(line);
                }
                _out.WriteLine("result: " + outPath);
                if (!s.IsSingle) _out.WriteLine($"shard {s}: merge every shard's file with `asupersync merge FILE...` for the whole exploration");
            }
            return result.Failed ? ExitCodes.Failed : ExitCodes.Ok;
        });
        return cmd;
    }

    internal static string ExploreProgressText(ExploreProgress p) =>
        string.Create(CultureInfo.InvariantCulture, $"{p.Schedules} schedules, {p.SchedulesPerSecond:N0}/s, {p.Classes} classes, {p.Failures} failure{(p.Failures == 1 ? "" : "s")} found");

    // ----- campaign, merge ----------------------------------------------------------------------------------------------

    private Command CampaignCommand()
    {
        var asm = AssemblyOption();
        var prog = ProgramOption();
        var strategy = new Option<CampaignStrategy>("--strategy") { Description = "How runs are drawn: Portfolio (random, PCT d=2, PCT d=3 per seed), Random or Pct.", DefaultValueFactory = _ => CampaignStrategy.Portfolio };
        var maxRuns = new Option<int>("--max-runs") { Description = "Run budget over all shards.", DefaultValueFactory = _ => 10_000 };
        var maxTime = new Option<double>("--max-seconds") { Description = "Wall-clock budget of this process, in seconds.", DefaultValueFactory = _ => 300 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of run 0 (run i uses seed + i)." };
        var alpha = new Option<double>("--alpha") { Description = "Error level of the whole report.", DefaultValueFactory = _ => 0.05 };
        var target = new Option<double?>("--target") { Description = "Stop and pass once every property's violation rate is bounded by this." };
        var rates = new Option<string[]>("--rate") { Description = "NAME=P0: allow property NAME (TaskLeak, ObligationLeak, Quiescence, Run, or a user oracle's name) to fail at rates up to P0; repeatable.", AllowMultipleArgumentsPerToken = true };
        var shard = new Option<string?>("--shard") { Description = "Run shard i of n (i/n). Default: ASUPERSYNC_SHARD, or ASUPERSYNC_SHARD_INDEX / JOB_COMPLETION_INDEX with ASUPERSYNC_SHARD_COUNT." };
        var chaos = ChaosOption();
        var output = new Option<string?>("--out", "-o") { Description = "Result file (JSON). Default: campaign-<i>-of-<n>.json in a temp folder." };
        var traces = new Option<string?>("--trace-dir") { Description = "Where to save a violating run's trace (default: next to the result file)." };
        var cmd = new Command("campaign", "Runs an anytime-valid campaign (or one shard of it): e-processes and rate bounds per property, stopping by the first rule that fires. Exit 0 passed, 1 failed, 3 target bound not reached.");
        foreach (var o in new Option[] { asm, prog, strategy, maxRuns, maxTime, seed, alpha, target, rates, shard, chaos, output, traces }) cmd.Options.Add(o);
        SetAction(cmd, pr =>
        {
            var s = Shard(pr.GetValue(shard));
            var properties = Properties(pr.GetValue(rates) ?? []);
            var program = LoadProgram(pr.GetValue(asm)!, pr.GetValue(prog)!);
            var outPath = pr.GetValue(output) ?? Path.Combine(DefaultOutputDirectory("campaigns"), $"campaign-{s.Index}-of-{s.Count}.json");
            var traceDir = pr.GetValue(traces) ?? Path.GetDirectoryName(Path.GetFullPath(outPath))!;
            var display = Progress(pr);
            int total = pr.GetValue(maxRuns);
            var result = display.Run(s.IsSingle ? "campaign" : $"campaign {s}", Math.Max(1, total / s.Count), update => LabCampaign.Run(program, new CampaignOptions
            {
                Strategy = pr.GetValue(strategy),
                MaxRuns = total,
                MaxWallTime = TimeSpan.FromSeconds(pr.GetValue(maxTime)),
                FirstSeed = pr.GetValue(seed),
                Alpha = pr.GetValue(alpha),
                TargetUpperBound = pr.GetValue(target),
                Properties = properties,
                Shard = s,
                Lab = new LabOptions { ProgramName = pr.GetValue(prog), Chaos = Chaos(pr.GetValue(chaos)!), TraceDirectory = traceDir },
                Progress = p => update(p.Runs, p.Describe(), p.Finished),
                ProgressInterval = display.Interval,
            }));
            result.Save(outPath);
            if (Json(pr))
            {
                _out.WriteLine(result.ToJson());
            }
            else
            {
                _out.WriteLine(result.Describe());
                if (result.FirstViolation is { TracePath: { } trace }) foreach (var line in ReplayHints(pr.GetValue(asm)!, pr.GetValue(prog)!, trace, null)) _out.WriteLine(line);
                _out.WriteLine("result: " + outPath);
                if (!s.IsSingle) _out.WriteLine($"shard {s}: merge every shard's file with `asupersync merge FILE...` for the campaign's verdict");
            }
            return CampaignExitCode(result, s.IsSingle);
        });
        return cmd;
    }

    private static int CampaignExitCode(CampaignResult result, bool whole) =>
        result.Failed ? ExitCodes.Failed
        : whole && result.Plan.TargetUpperBound is not null && !result.TargetReached ? ExitCodes.Inconclusive
        : ExitCodes.Ok;

    private static IReadOnlyList<CampaignProperty> Properties(string[] rates)
    {
        var props = CampaignProperty.Defaults.ToList();
        foreach (var spec in rates)
        {
            int eq = spec.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !double.TryParse(spec.AsSpan(eq + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double p0) || !(p0 >= 0 && p0 < 1))
                throw new CliException(ExitCodes.BadOptions, $"--rate '{spec}': expected NAME=P0 with 0 <= P0 < 1, for example Run=0.01");
            string name = spec[..eq];
            int at = props.FindIndex(p => p.Name == name);
            if (at >= 0) props[at] = props[at].WithNullRate(p0);
            else props.Insert(props.Count - 1, CampaignProperty.Oracle(name, p0));
        }
        return props;
    }

    private Command MergeCommand()
    {
        var files = new Argument<string[]>("files") { Description = "The shards' result files (JSON, from explore or campaign), or directories holding them.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out", "-o") { Description = "Write the merged result here (JSON)." };
        var cmd = new Command("merge", "Merges the result files of an exploration's or a campaign's shards into the result of the whole; exit codes as for explore or campaign.");
        cmd.Arguments.Add(files);
        cmd.Options.Add(output);
        SetAction(cmd, pr =>
        {
            var paths = new List<string>();
            foreach (var p in pr.GetValue(files)!)
            {
                if (Directory.Exists(p)) paths.AddRange(Directory.GetFiles(p, "*.json").Order(StringComparer.Ordinal));
                else if (File.Exists(p)) paths.Add(p);
                else throw new CliException(ExitCodes.MissingFile, $"no such file or directory: {p}");
            }
            if (paths.Count == 0) throw new CliException(ExitCodes.MissingFile, "no result files (*.json) to merge");
            var texts = paths.Select(p => (Path: p, Text: File.ReadAllText(p))).ToList();
            var formats = texts.Select(t => ExploreShardResult.FormatOf(t.Text, t.Path)).Distinct().ToList();
            if (formats.Count != 1) throw new CliException(ExitCodes.BadFile, "the files are not all results of one kind (explore or campaign)");
            if (formats[0] == ExploreShardResult.FormatName)
            {
                var merged = ExploreShardResult.Merge(texts.Select(t => ExploreShardResult.FromJson(t.Text, t.Path)));
                if (!merged.Complete)
                {
                    var missing = Enumerable.Range(0, merged.Plan.ShardCount).Except(merged.Shards).Select(i => $"{i}/{merged.Plan.ShardCount}");
                    throw new CliException(ExitCodes.BadOptions, $"missing shard(s) {string.Join(", ", missing)}: merge needs every shard of the exploration");
                }
                if (pr.GetValue(output) is { } o) merged.Save(o);
                _out.WriteLine(Json(pr) ? merged.ToJson() : merged.Describe());
                return merged.Failed ? ExitCodes.Failed : ExitCodes.Ok;
            }
            if (formats[0] == CampaignResult.FormatName)
            {
                var merged = CampaignResult.Merge(texts.Select(t => CampaignResult.FromJson(t.Text, t.Path)));
                if (pr.GetValue(output) is { } o) merged.Save(o);
                _out.WriteLine(Json(pr) ? merged.ToJson() : merged.Describe());
                return CampaignExitCode(merged, whole: true);
            }
            throw new CliException(ExitCodes.BadFile, $"{texts[0].Path} is not an {ExploreShardResult.FormatName} or {CampaignResult.FormatName} result file");
        });
        return cmd;
    }

    // ----- bench, demo -------------------------------------------------------------------------------------------------

    private Command BenchCommand()
    {
        var schedules = new Option<int>("--schedules") { Description = "Schedules per measurement.", DefaultValueFactory = _ => 20_000 };
        var cmd = new Command("bench", "Measures Lab schedules per second on a 3-task program with 20 steps per task (one core), and the production runtime on the same program.");
        cmd.Options.Add(schedules);
        SetAction(cmd, pr =>
        {
            if (pr.GetValue(schedules) < 1) throw new CliException(ExitCodes.BadOptions, "--schedules must be at least 1");
            return Bench.Run(_out, pr.GetValue(schedules));
        });
        return cmd;
    }

    private Command DemoCommand()
    {
        var output = new Option<string?>("--out", "-o", "--output") { Description = "Folder for the demo's trace and HTML timeline (default: a temp folder)." };
        var max = new Option<int>("--max-schedules") { Description = "Schedule budget of each exploration.", DefaultValueFactory = _ => 5_000 };
        var cmd = new Command("demo", "Explores a transfer that a cancel can leave half done until a schedule finds it, writes that schedule's trace and HTML timeline, then explores the fixed transfer (the step as an obligation) clean.");
        cmd.Options.Add(output);
        cmd.Options.Add(max);
        SetAction(cmd, pr => Demo.Run(this, pr, pr.GetValue(output) ?? DefaultOutputDirectory("demo"), pr.GetValue(max)));
        return cmd;
    }

    internal TextWriter Out => _out;

    internal ProgressDisplay ProgressFor(ParseResult pr) => Progress(pr);

    internal bool JsonFor(ParseResult pr) => Json(pr);

    internal void Json(Action<Utf8JsonWriter> body) => WriteJson(body);
}
