using Asupersync;
using Asupersync.Channels;

namespace Asupersync.Guides.Snippets;

public static class Cookbook
{
    public static Task<string> FetchAsync(Cx cx, string what) => SlowAsync(cx, what, TimeSpan.FromMilliseconds(50));

    public static async Task<string> SlowAsync(Cx cx, string what, TimeSpan delay)
    {
        await cx.SleepAsync(delay);
        return what;
    }

    // <snippet timeout>
    public static async Task<string> WithTimeoutAsync(Cx cx)
    {
        var o = await cx.TimeoutAsync(TimeSpan.FromSeconds(2), cx => SlowAsync(cx, "answer", TimeSpan.FromSeconds(10)));
        if (o.IsTimedOut()) return "fallback";  // the slow call was cancelled and drained before this line
        return o.Value;
    }
    // </snippet>

    // <snippet retry>
    public static async Task<int> WithRetriesAsync(Cx cx)
    {
        int attempts = 0;
        var policy = new RetryPolicy { MaxAttempts = 5, InitialBackoff = TimeSpan.FromMilliseconds(20) };
        var o = await cx.RetryAsync(async cx =>
        {
            attempts++;
            await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
            if (attempts < 3) throw new TaskErrorException("flaky upstream"); // an Err: retried
            return attempts;
        }, policy);
        return o.Value; // 3
    }
    // </snippet>

    // <snippet pipeline>
    // producer -> bounded channel -> consumer; closing the sender ends the consumer's loop.
    public static async Task<int> PipelineAsync(Cx cx, int items)
    {
        var (tx, rx) = Mpsc.Bounded<int>(capacity: 4);
        var outcome = await cx.RegionAsync("pipeline", async cx =>
        {
            cx.Spawn("producer", async cx =>
            {
                using (tx)
                    for (int i = 1; i <= items; i++) await tx.SendAsync(cx, i); // waits while the channel is full
            });
            var consumer = cx.Spawn("consumer", async cx =>
            {
                int sum = 0;
                try { while (true) sum += await rx.ReceiveAsync(cx); }
                catch (ChannelClosedException) { return sum; }       // completed and drained
            });
            return await consumer.ValueAsync(cx);
        });
        return outcome.Value;
    }
    // </snippet>

    // <snippet shutdown>
    // Runs until the shutdown signal (SIGINT/SIGTERM, a host stopping), then gives the workers 5 s to drain.
    public static async Task ServeUntilShutdownAsync(Cx cx, Func<Cx, Task> worker)
    {
        await cx.RegionAsync("service", async cx =>
        {
            var w = cx.Spawn("worker", worker);
            await cx.ShutdownSignalAsync();
            w.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)));
        });
    }
    // </snippet>

    // <snippet httpclient>
    // HttpClient (or any ADO.NET call) through the token bridge: a cancel of the task cancels the request.
    public static async Task<string> GetAsync(Cx cx, HttpClient http, Uri url)
    {
        using var response = await cx.AwaitAsync(http.GetAsync(url, cx.CancellationToken));
        response.EnsureSuccessStatusCode();
        return await cx.AwaitAsync(response.Content.ReadAsStringAsync(cx.CancellationToken));
    }
    // </snippet>
}

public static class ObservabilitySnippet
{
    // <snippet metrics-listener>
    // Any MeterListener (OpenTelemetry's AddMeter("Asupersync") is one) sees the runtime's instruments.
    public static MeterListenerHandle Listen(Action<string, long> onMeasurement)
    {
        var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Asupersync.Diagnostics.AsupersyncTelemetry.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => onMeasurement(instrument.Name, value));
        listener.Start();
        return new MeterListenerHandle(listener);
    }
    // </snippet>

    public sealed record MeterListenerHandle(System.Diagnostics.Metrics.MeterListener Listener) : IDisposable
    {
        public void Dispose() => Listener.Dispose();
    }
}
