// The runtime's metrics through OpenTelemetry: a MeterProvider that listens to the "Asupersync" meter and prints
// every instrument with the console exporter. Run: dotnet run --project examples/Telemetry
using Asupersync;
using Asupersync.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;

using var meters = Sdk.CreateMeterProviderBuilder()
    .AddMeter(AsupersyncTelemetry.MeterName)
    .AddConsoleExporter()
    .Build();

await using (var runtime = Runtime.Create())
{
    // Some work for the instruments: 20 tasks in a region, half of them cancelled, and obligations committed
    // and aborted.
    var outcome = await runtime.RunAsync(cx => cx.RegionAsync("work", async cx =>
    {
        var tasks = Enumerable.Range(0, 20).Select(i => cx.Spawn($"task {i}", async cx =>
        {
            using var write = cx.Reserve(ObligationKind.IoOp, $"write {i}");
            await cx.SleepAsync(TimeSpan.FromMilliseconds(i % 2 == 0 ? 1 : 10_000));
            write.Commit(); // the cancelled half never gets here: disposing the obligation aborts it
        })).ToList();
        await cx.SleepAsync(TimeSpan.FromMilliseconds(50));
        foreach (var t in tasks.Where((_, i) => i % 2 == 1)) t.Cancel();
        foreach (var t in tasks) await t.JoinAsync(cx);
    }), "telemetry");
    Console.WriteLine($"root: {outcome}");
    // The gauges (tasks.live, regions.open, ...) are read while the runtime is alive.
    meters.ForceFlush();
}
