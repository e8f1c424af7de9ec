// A saga worker for the crash tests (tests/Asupersync.Sagas.Tests/CrashTests.cs). It runs the sagas a test submitted
// to a durable log, calling a fake downstream service that keeps its effects in a SQLite file, and can stop dead at a
// numbered boundary (a durable log transition or an applied effect) so that the test SIGKILLs it exactly there.
//
//   --store sqlite:<file> | postgres:<schema>   (PostgreSQL: connection string from ASUPERSYNC_PG)
//   --effects <file>          the fake service's SQLite file
//   --pause-at <n>            block (forever) at this process's n-th boundary, after printing "PAUSED <n> <what>"
//   --pause-kind <kind>       count only boundaries of this kind (a transition name, or EFFECT) for --pause-at
//   --worker <id>  --lease-ms <ms>  --max <n>  --step-ms <ms>  --until all|claimable
//
// Output lines: "RECORD <saga> <seq> <transition> <step>" per durable record, "EFFECT <key>", "PAUSED …", "DONE <report>".
using System.Globalization;
using Asupersync;
using Asupersync.Sagas;
using Asupersync.Sagas.CrashWorker;

var opt = Options.Parse(args);
var service = new EffectService(opt.Effects);
int boundary = 0;
var gate = new object();
var blocked = new ManualResetEventSlim(false);

void Boundary(string what, string kind)
{
    int n = -1;
    lock (gate)
    {
        if (opt.PauseKind is null || opt.PauseKind == kind) n = ++boundary;
    }
    Console.Out.WriteLine(what);
    if (n == opt.PauseAt)
    {
        Console.Out.WriteLine($"PAUSED {n} {what}");
        Console.Out.Flush();
        blocked.Wait(); // never set: the test kills this process here
    }
    Console.Out.Flush();
}

var registry = Definitions.Registry(service, opt.StepLatency, key => Boundary("EFFECT " + key, "EFFECT"));
var observer = new Observer(r => Boundary(string.Create(CultureInfo.InvariantCulture, $"RECORD {r.SagaId} {r.Sequence} {r.Transition} {r.Step}"), r.Transition.ToString()));

await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 1, PrintDiagnostics = false });
var outcome = await rt.RunAsync(async cx =>
{
    await using SagaLogStore store = opt.Store.StartsWith("sqlite:", StringComparison.Ordinal)
        ? await SqliteSagaLogStore.OpenAsync(cx, opt.Store["sqlite:".Length..], new SqliteSagaLogStoreOptions { WorkerId = opt.Worker })
        : await PostgresSagaLogStore.OpenAsync(cx, Environment.GetEnvironmentVariable("ASUPERSYNC_PG") ?? throw new InvalidOperationException("ASUPERSYNC_PG is not set"),
            new PostgresSagaLogStoreOptions { Schema = opt.Store["postgres:".Length..], WorkerId = opt.Worker, LeaseDuration = opt.Lease });
    var report = await cx.RunSagaWorkerAsync(store, registry, new SagaWorkerOptions
    {
        MaxConcurrentSagas = opt.Max,
        StopWhen = opt.UntilAll ? SagaWorkerStop.AllFinished : SagaWorkerStop.NothingClaimable,
        PollInterval = TimeSpan.FromMilliseconds(100),
        Observer = observer,
        CompensationRetry = new RetryPolicy { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(5) },
    });
    Console.Out.WriteLine($"DONE {report}");
    foreach (var s in report.Skipped) Console.Out.WriteLine("SKIPPED " + s.Message);
    Console.Out.Flush();
});
service.Dispose();
if (!outcome.IsOk) Console.Error.WriteLine("worker failed: " + outcome);
return outcome.IsOk ? 0 : 1;
