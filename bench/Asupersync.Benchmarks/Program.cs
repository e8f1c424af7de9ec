using BenchmarkDotNet.Running;

if (args.Length > 0 && args[0] == "--interleaved")
    return await Asupersync.Benchmarks.Interleaved.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 21);
if (args.Length > 0 && args[0] == "--micro")
    return await Asupersync.Benchmarks.Micro.RunAsync(args.Length > 1 ? args[1] : "race", args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5);
if (args.Length > 0 && args[0] == "--hooks")
    return await Asupersync.Benchmarks.HookCost.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 21, args.Length > 2 ? args[2] : null);
if (args.Length > 0 && args[0] == "--governor")
    return await Asupersync.Benchmarks.GovernorBench.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point type (for BenchmarkSwitcher).</summary>
public partial class Program;
