using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using Asupersync;
using Asupersync.Lab;
using Asupersync.Lab.Exploration;

namespace Asupersync.Cli;

/// <summary>The <c>asupersync</c> command-line tool.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("asupersync: replay Lab seeds and traces, explore schedules, render traces, measure the Lab.");
        root.Subcommands.Add(ShowCommand());
        root.Subcommands.Add(RenderCommand());
        root.Subcommands.Add(ReplayCommand());
        root.Subcommands.Add(RunCommand());
        root.Subcommands.Add(ExploreCommand());
        root.Subcommands.Add(BenchCommand());
        root.Subcommands.Add(DemoCommand());
        return root.Parse(args).Invoke();
    }

    private static readonly Argument<string> TraceArgument = new("trace") { Description = "A trace file written by the Lab (JSON)." };

    private static Option<string> AssemblyOption() => new("--assembly", "-a") { Description = "The assembly (.dll) that contains the program.", Required = true };

    private static Option<string> ProgramOption() => new("--program", "-p") { Description = "The program: Namespace.Type.Method, a public static method taking Cx and returning Task.", Required = true };

    private static Command ShowCommand()
    {
        var cmd = new Command("show", "Checks a trace file's integrity and prints its summary and failures.");
        cmd.Arguments.Add(TraceArgument);
        cmd.SetAction(pr =>
        {
            var trace = LabTrace.Load(pr.GetValue(TraceArgument)!);
            Console.WriteLine($"program {trace.ProgramName ?? "(unnamed)"}, seed {trace.Seed}, strategy {trace.Strategy}, {trace.Decisions.Count} steps, {trace.Events.Count} events, hash {trace.Hash:x16}");
            foreach (var f in trace.Failures) Console.WriteLine("  " + f);
            return trace.Failures.Count == 0 ? 0 : 1;
        });
        return cmd;
    }

    private static Command RenderCommand()
    {
        var output = new Option<string?>("--output", "-o") { Description = "The HTML file to write (default: the trace path with .html)." };
        var title = new Option<string?>("--title") { Description = "The page title." };
        var cmd = new Command("render", "Renders a trace file as a self-contained HTML timeline.");
        cmd.Arguments.Add(TraceArgument);
        cmd.Options.Add(output);
        cmd.Options.Add(title);
        cmd.SetAction(pr =>
        {
            var path = pr.GetValue(TraceArgument)!;
            var outPath = pr.GetValue(output) ?? Path.ChangeExtension(path, ".html");
            LabTrace.Load(path).SaveHtml(outPath, pr.GetValue(title));
            Console.WriteLine(outPath);
            return 0;
        });
        return cmd;
    }

    private static Command ReplayCommand()
    {
        var asm = AssemblyOption();
        var prog = ProgramOption();
        var html = new Option<string?>("--html") { Description = "Also write the replayed trace as HTML." };
        var cmd = new Command("replay", "Replays a trace file against its program; exit code 0 when the replay matches the trace.");
        cmd.Arguments.Add(TraceArgument);
        cmd.Options.Add(asm);
        cmd.Options.Add(prog);
        cmd.Options.Add(html);
        cmd.SetAction(pr =>
        {
            var program = LoadProgram(pr.GetValue(asm)!, pr.GetValue(prog)!);
            var trace = LabTrace.Load(pr.GetValue(TraceArgument)!);
            var result = LabRuntime.Replay(trace, program);
            Console.WriteLine(result.Describe());
            if (pr.GetValue(html) is { } h) result.Trace.SaveHtml(h);
            bool diverged = result.OracleFailures.Any(f => f.Oracle == LabOracles.Determinism);
            return diverged ? 1 : 0;
        });
        return cmd;
    }

    private static Command RunCommand()
    {
        var asm = AssemblyOption();
        var prog = ProgramOption();
        var seed = new Option<ulong>("--seed", "-s") { Description = "The seed." };
        var chaos = new Option<string>("--chaos") { Description = "Chaos preset: none, light, heavy, delays.", DefaultValueFactory = _ => "none" };
        var save = new Option<string?>("--save") { Description = "Write the trace (JSON) here; an .html next to it too." };
        var cmd = new Command("run", "Runs a program once under a seed and prints the report.");
        cmd.Options.Add(asm);
        cmd.Options.Add(prog);
        cmd.Options.Add(seed);
        cmd.Options.Add(chaos);
        cmd.Options.Add(save);
        cmd.SetAction(pr =>
        {
            var program = LoadProgram(pr.GetValue(asm)!, pr.GetValue(prog)!);
            var options = new LabOptions { ProgramName = pr.GetValue(prog), Chaos = Asupersync.Lab.Chaos.ChaosOptions.Preset(pr.GetValue(chaos)!) };
            var result = LabRuntime.Run(pr.GetValue(seed), program, options);
            if (pr.GetValue(save) is { } path)
            {
                result.SaveTrace(path: path);
                result.Trace.SaveHtml(Path.ChangeExtension(path, ".html"));
            }
            Console.WriteLine(result.Describe());
            return result.Passed ? 0 : 1;
        });
        return cmd;
    }

    private static Command ExploreCommand()
    {
        var asm = AssemblyOption();
        var prog = ProgramOption();
        var strategy = new Option<ExploreStrategy>("--strategy") { Description = "Random, Pct, Dpor or Exhaustive.", DefaultValueFactory = _ => ExploreStrategy.Dpor };
        var max = new Option<int>("--max-schedules") { Description = "Schedule bound.", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<ulong>("--seed") { Description = "Base seed." };
        var traces = new Option<string?>("--trace-dir") { Description = "Where to save the trace of a failing schedule." };
        var cmd = new Command("explore", "Explores a program's schedules and reports the first failure.");
        cmd.Options.Add(asm);
        cmd.Options.Add(prog);
        cmd.Options.Add(strategy);
        cmd.Options.Add(max);
        cmd.Options.Add(seed);
        cmd.Options.Add(traces);
        cmd.SetAction(pr =>
        {
            var program = LoadProgram(pr.GetValue(asm)!, pr.GetValue(prog)!);
            var result = LabRuntime.Explore(program, new ExploreOptions
            {
                Strategy = pr.GetValue(strategy),
                MaxSchedules = pr.GetValue(max),
                Seed = pr.GetValue(seed),
                Lab = new LabOptions { ProgramName = pr.GetValue(prog), TraceDirectory = pr.GetValue(traces) },
            });
            if (result.FirstFailure is { TracePath: null } f) f.SaveTrace(pr.GetValue(traces));
            Console.WriteLine(result.Describe());
            return result.FirstFailure is null ? 0 : 1;
        });
        return cmd;
    }

    private static Command BenchCommand()
    {
        var schedules = new Option<int>("--schedules") { Description = "Schedules per measurement.", DefaultValueFactory = _ => 20_000 };
        var cmd = new Command("bench", "Measures Lab schedules per second on a 3-task program with 20 steps per task (one core), and the production runtime on the same program.");
        cmd.Options.Add(schedules);
        cmd.SetAction(pr => Bench.Run(pr.GetValue(schedules)));
        return cmd;
    }

    private static Command DemoCommand()
    {
        var output = new Option<string>("--output", "-o") { Description = "Directory for the demo's trace and HTML.", DefaultValueFactory = _ => "." };
        var cmd = new Command("demo", "Finds a seeded bug (a cancel between two halves of a transfer) with DPOR and writes its trace and HTML timeline.");
        cmd.Options.Add(output);
        cmd.SetAction(pr =>
        {
            var dir = pr.GetValue(output)!;
            var result = LabRuntime.Explore(Demo.HalfDoneTransfer, new ExploreOptions { Lab = new LabOptions { ProgramName = "demo-half-done-transfer" } });
            var failure = result.FirstFailure ?? throw new InvalidOperationException("the demo bug was not found");
            var json = failure.SaveTrace(path: Path.Combine(dir, "demo-trace.json"));
            var html = Path.Combine(dir, "demo-trace.html");
            failure.Trace.SaveHtml(html, "Demo: cancel between debit and credit");
            Console.WriteLine(result.Describe());
            Console.WriteLine(json);
            Console.WriteLine(html);
            return 0;
        });
        return cmd;
    }

    private static Func<Cx, Task> LoadProgram(string assemblyPath, string program)
    {
        var asm = Assembly.LoadFrom(Path.GetFullPath(assemblyPath));
        int dot = program.LastIndexOf('.');
        if (dot <= 0) throw new ArgumentException($"'{program}' is not Namespace.Type.Method.");
        var type = asm.GetType(program[..dot], throwOnError: true)!;
        var method = type.GetMethod(program[(dot + 1)..], BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, [typeof(Cx)])
                     ?? throw new ArgumentException($"{type.FullName} has no static method {program[(dot + 1)..]}(Cx).");
        return method.CreateDelegate<Func<Cx, Task>>();
    }
}

/// <summary>The program the demo command explores.</summary>
internal static class Demo
{
    internal static async Task HalfDoneTransfer(Cx cx)
    {
        var debited = new LabVar<int>("debited");
        var credited = new LabVar<int>("credited");
        var writer = cx.Spawn("transfer", async cx =>
        {
            debited.Write(cx, 10);
            await cx.YieldAsync();
            await cx.SleepAsync(TimeSpan.FromMilliseconds(5));
            credited.Write(cx, 10);
        });
        var canceller = cx.Spawn("canceller", async cx =>
        {
            await cx.YieldAsync();
            writer.Cancel(message: "operator pressed stop");
        });
        var bystander = cx.Spawn("bystander", async cx =>
        {
            for (int i = 0; i < 3; i++) await cx.SleepAsync(TimeSpan.FromMilliseconds(2));
        });
        await writer.JoinAsync(cx);
        await canceller.JoinAsync(cx);
        await bystander.JoinAsync(cx);
        if (debited.Value != credited.Value) throw new InvalidOperationException($"half-done transfer: debited {debited.Value}, credited {credited.Value}");
    }
}

/// <summary>The <c>bench</c> command: schedules per second, measured on this machine.</summary>
internal static class Bench
{
    private const int Tasks = 3, StepsPerTask = 20;

    internal static async Task ThreeTasks(Cx cx)
    {
        var a = cx.Spawn("a", Worker);
        var b = cx.Spawn("b", Worker);
        var c = cx.Spawn("c", Worker);
        await a.JoinAsync(cx);
        await b.JoinAsync(cx);
        await c.JoinAsync(cx);
    }

    private static async Task Worker(Cx cx)
    {
        for (int i = 0; i < StepsPerTask - 1; i++) await cx.YieldAsync();
    }

    internal static int Run(int schedules)
    {
        Console.WriteLine($"program: {Tasks} tasks x {StepsPerTask} steps, joined by the root; up to {schedules} schedules per measurement; one thread");
        int steps = LabRuntime.Run(1, ThreeTasks).Steps;
        Console.WriteLine($"steps per schedule: {steps}");
        // Warm up every path first (tiered JIT), then measure.
        for (int round = 0; round < 2; round++)
        {
            int n = round == 0 ? Math.Max(1, schedules / 10) : schedules;
            string suffix = round == 0 ? " [warm-up]" : "";
            Measure("Lab exploration, random (events off)" + suffix, () => Explore(ExploreStrategy.Random, n));
            Measure("Lab exploration, PCT d=3 (events off)" + suffix, () => Explore(ExploreStrategy.Pct, n));
            Measure("Lab exploration, DPOR (to exhaustion)" + suffix, () => Explore(ExploreStrategy.Dpor, n));
            Measure("LabRuntime.Run (full trace + oracles)" + suffix, () =>
            {
                for (int i = 0; i < n; i++) LabRuntime.Run((ulong)i, ThreeTasks);
                return n;
            });
            int prod = Math.Max(1, n / 4);
            using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 1, PrintDiagnostics = false });
            Measure("production runtime, 1 worker (same program)" + suffix, () =>
            {
                for (int i = 0; i < prod; i++) rt.Run(ThreeTasks);
                return prod;
            });
        }
        return 0;
    }

    private static int Explore(ExploreStrategy strategy, int n)
    {
        var r = LabRuntime.Explore(ThreeTasks, new ExploreOptions { Strategy = strategy, MaxSchedules = n, StopOnFirstFailure = false, MaxWallTime = TimeSpan.FromMinutes(10) });
        return r.Schedules + r.PrunedSchedules;
    }

    private static void Measure(string what, Func<int> body)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        int n = body();
        sw.Stop();
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Console.WriteLine($"{what,-58} {n,7} runs {n / sw.Elapsed.TotalSeconds,10:N0} schedules/s  {sw.Elapsed.TotalMicroseconds / n,8:N1} µs/schedule  {allocated / (double)n / 1024,6:N1} KiB/schedule (this thread)");
    }
}
