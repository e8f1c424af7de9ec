using System.Runtime.InteropServices;
using Asupersync.Kernel;
using Asupersync.Scheduling;

namespace Asupersync;

/// <summary>
/// The production runtime: a multi-threaded three-lane scheduler running the kernel. Most programs only need
/// <see cref="Main(string[], Func{Cx, Task}, RuntimeOptions?)"/>.
/// </summary>
/// <example>
/// <code>
/// return Runtime.Main(args, cx => cx.RegionAsync("app", async cx =>
/// {
///     cx.Spawn("worker", async cx => { while (true) await cx.SleepAsync(TimeSpan.FromSeconds(1)); });
///     await cx.ShutdownSignalAsync();
///     cx.CancelRegion("shutting down");
/// }));
/// </code>
/// </example>
public sealed class Runtime : IAsyncDisposable, IDisposable
{
    internal readonly RuntimeCore Core;
    private int _disposed;

    private Runtime(RuntimeOptions options)
    {
        Options = options;
        Core = new RuntimeCore(new ThreeLaneScheduler(options), options);
        Core.Driver.Start();
        global::Asupersync.Diagnostics.KernelMetrics.Register(Core);
    }

    internal Runtime(RuntimeCore core)
    {
        Options = core.Options;
        Core = core;
    }

    /// <summary>Starts a runtime (its worker threads run until it is disposed).</summary>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <returns>The runtime.</returns>
    public static Runtime Create(RuntimeOptions? options = null) => new(options ?? new RuntimeOptions());

    /// <summary>
    /// The runtime's Lyapunov potential now: live tasks, Σ age of open obligations, draining regions and deadline
    /// pressure, weighted by <see cref="RuntimeOptions.PotentialWeights"/>. Maintained incrementally; reading it is O(1).
    /// </summary>
    public Potential Potential => Core.ReadPotential();

    /// <summary>The settings.</summary>
    public RuntimeOptions Options { get; }

    /// <summary>Counters and recent diagnostics (leaks, budget overruns, failing finalizers).</summary>
    public RuntimeDiagnostics Diagnostics => Core.Diagnostics;

    /// <summary>Runtime time: elapsed since the runtime started.</summary>
    public TimeSpan Now => Core.Now;

    /// <summary>
    /// Runs <paramref name="body"/> as the root task of a new root region and completes with the region's
    /// outcome once it closed (every task finished, finalizers ran, ledger empty).
    /// </summary>
    /// <typeparam name="T">The body's result.</typeparam>
    /// <param name="body">The root body.</param>
    /// <param name="name">The root region's name.</param>
    /// <param name="options">Region policy, budget and limits.</param>
    /// <returns>The root outcome.</returns>
    public Task<Outcome<T>> RunAsync<T>(Func<Cx, Task<T>> body, string name = "root", RegionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Start<T>(body, name, options);
    }

    /// <summary>Runs a body without a result; see <see cref="RunAsync{T}(Func{Cx, Task{T}}, string, RegionOptions?)"/>.</summary>
    /// <param name="body">The root body.</param>
    /// <param name="name">The root region's name.</param>
    /// <param name="options">Region policy, budget and limits.</param>
    /// <returns>The root outcome.</returns>
    public Task<Outcome<Unit>> RunAsync(Func<Cx, Task> body, string name = "root", RegionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Start<Unit>(body, name, options);
    }

    /// <summary>Blocking form of <see cref="RunAsync{T}(Func{Cx, Task{T}}, string, RegionOptions?)"/>.</summary>
    /// <typeparam name="T">The body's result.</typeparam>
    /// <param name="body">The root body.</param>
    /// <returns>The root outcome.</returns>
    public Outcome<T> Run<T>(Func<Cx, Task<T>> body) => RunAsync(body).GetAwaiter().GetResult();

    /// <summary>Blocking form of <see cref="RunAsync(Func{Cx, Task}, string, RegionOptions?)"/>.</summary>
    /// <param name="body">The root body.</param>
    /// <returns>The root outcome.</returns>
    public Outcome<Unit> Run(Func<Cx, Task> body) => RunAsync(body).GetAwaiter().GetResult();

    private Task<Outcome<T>> Start<T>(object body, string name, RegionOptions? options)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var waiter = new RootWaiter<T>();
        Core.StartRoot<T>(name, body, options ?? RegionOptions.Default, waiter);
        return waiter.Task;
    }

    /// <summary>
    /// Delivers the shutdown signal as SIGINT/SIGTERM would: tasks waiting in <see cref="Cx.ShutdownSignalAsync"/>
    /// wake; if none waits (or on a second call) every root region is cancelled with <see cref="CancelKind.Shutdown"/>.
    /// </summary>
    public void RequestShutdown() => Core.SignalShutdown("shutdown requested");

    /// <summary>
    /// The program entry point: runs <paramref name="body"/> as the root of a new runtime, turns SIGINT and
    /// SIGTERM into the shutdown signal, blocks until the root region closed and returns the process exit code
    /// (<see cref="ExitCodeOf{T}"/>). The first signal is the shutdown request; signals within one second of it are
    /// the same request (some tools deliver one Ctrl+C twice); a signal after that forces the stop: every root region
    /// is cancelled with <see cref="CancelKind.Shutdown"/>.
    /// </summary>
    /// <param name="args">Command-line arguments; <c>--asupersync-workers=N</c> sets the worker count.</param>
    /// <param name="body">The root body.</param>
    /// <param name="options">Runtime settings.</param>
    /// <returns>The exit code.</returns>
    public static int Main(string[] args, Func<Cx, Task> body, RuntimeOptions? options = null) =>
        MainCore<Unit>(args, body, options, o => o);

    /// <summary>Entry point for a body that returns an exit code (used when the root outcome is Ok).</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="body">The root body.</param>
    /// <param name="options">Runtime settings.</param>
    /// <returns>The exit code.</returns>
    public static int Main(string[] args, Func<Cx, Task<int>> body, RuntimeOptions? options = null) =>
        MainCore<int>(args, body, options, o => o);

    /// <summary>Entry point for a body that returns an outcome, typically <c>cx =&gt; cx.RegionAsync(...)</c>: the inner outcome decides the exit code.</summary>
    /// <typeparam name="T">The region's result.</typeparam>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="body">The root body.</param>
    /// <param name="options">Runtime settings.</param>
    /// <returns>The exit code.</returns>
    public static int Main<T>(string[] args, Func<Cx, Task<Outcome<T>>> body, RuntimeOptions? options = null) =>
        MainCore<Outcome<T>>(args, body, options, o => o.IsOk ? o.Value : Outcome<T>.FromNonOk(o.Kind, o.Payload));

    private static int MainCore<TRoot>(string[] args, object body, RuntimeOptions? options, Func<Outcome<TRoot>, object> flatten)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(body);
        options ??= new RuntimeOptions();
        foreach (var a in args)
        {
            if (a.StartsWith("--asupersync-workers=", StringComparison.Ordinal) && int.TryParse(a.AsSpan(21), out int n) && n > 0)
                options = options with { WorkerCount = n };
        }
        using var rt = Create(options);
        if (options.PrintDiagnostics) rt.Diagnostics.Reported += e => Console.Error.WriteLine("asupersync: " + e);
        var window = new SignalWindow();
        using var sigint = Register(PosixSignal.SIGINT, rt, window);
        using var sigterm = Register(PosixSignal.SIGTERM, rt, window);
        var outcome = rt.Start<TRoot>(body, "main", null).GetAwaiter().GetResult();
        var flat = flatten(outcome);
        int code = flat switch
        {
            Outcome<int> oi => oi.IsOk ? oi.Value : ExitCodeOf(oi),
            Outcome<Unit> ou => ExitCodeOf(ou),
            _ => ExitCodeOfBoxed(flat),
        };
        if (code != 0 && options.PrintDiagnostics) Console.Error.WriteLine($"asupersync: root outcome {flat}");
        return code;
    }

    private static int ExitCodeOfBoxed(object outcome)
    {
        var kindProp = outcome.GetType().GetProperty(nameof(Outcome<int>.Kind))!;
        var kind = (OutcomeKind)kindProp.GetValue(outcome)!;
        var reason = (CancelReason?)outcome.GetType().GetProperty(nameof(Outcome<int>.CancelReason))!.GetValue(outcome);
        return ExitCode(kind, reason);
    }

    /// <summary>
    /// Signals within <see cref="Window"/> of the first one are the same request: <c>timeout -s INT</c>, a terminal
    /// and a process manager may deliver one Ctrl+C two or three times within microseconds. Measured on the
    /// process's monotonic clock (a signal is an outside event, not runtime time), by the signal handler itself.
    /// </summary>
    internal sealed class SignalWindow
    {
        internal static readonly TimeSpan Window = TimeSpan.FromSeconds(1);
        private long _first = -1;

        /// <summary>True for a signal that repeats the first within the window (ignore it).</summary>
        internal bool IsDuplicate(long nowTicks)
        {
            long first = Interlocked.CompareExchange(ref _first, nowTicks, -1);
            return first != -1 && System.Diagnostics.Stopwatch.GetElapsedTime(first, nowTicks) < Window;
        }
    }

    private static PosixSignalRegistration? Register(PosixSignal signal, Runtime rt, SignalWindow window)
    {
        try
        {
            return PosixSignalRegistration.Create(signal, ctx =>
            {
                ctx.Cancel = true; // the runtime shuts down cooperatively instead of the process dying
#pragma warning disable RS0030 // an OS signal handler outside any task: de-duplicates one signal delivered twice by wall time
                if (window.IsDuplicate(System.Diagnostics.Stopwatch.GetTimestamp())) return; // the same request, delivered twice
#pragma warning restore RS0030
                rt.Core.SignalShutdown(signal.ToString());
            });
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }

    /// <summary>
    /// The process exit code of an outcome: Ok 0, Err 1, Cancelled 2 (130 when the reason is
    /// <see cref="CancelKind.Shutdown"/>, as for a process stopped by SIGINT), Panicked 3.
    /// </summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="outcome">The root outcome.</param>
    /// <returns>The exit code.</returns>
    public static int ExitCodeOf<T>(Outcome<T> outcome) => ExitCode(outcome.Kind, outcome.CancelReason);

    private static int ExitCode(OutcomeKind kind, CancelReason? reason) => kind switch
    {
        OutcomeKind.Ok => 0,
        OutcomeKind.Err => 1,
        OutcomeKind.Cancelled => reason?.Kind == CancelKind.Shutdown ? 130 : 2,
        _ => 3,
    };

    /// <summary>Cancels every open root region with <see cref="CancelKind.Shutdown"/>, waits for them to close, then stops the workers.</summary>
    /// <returns>A task completing when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        var roots = Core.OpenRoots;
        if (roots.Length > 0)
        {
            var closed = roots.Select(r =>
            {
                var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                r.WhenClosed(() => tcs.TrySetResult());
                return tcs.Task;
            }).ToArray();
            Core.CancelRoots(new CancelReason(CancelKind.Shutdown, "runtime disposed", Core.Now));
            await System.Threading.Tasks.Task.WhenAll(closed).ConfigureAwait(false);
        }
        Core.Driver.Stop();
        global::Asupersync.Diagnostics.KernelMetrics.Unregister(Core);
    }

    /// <summary>Blocking form of <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
