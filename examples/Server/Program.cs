using Asupersync;

// Placeholder until the TCP issue lands: a region with a heartbeat task that runs until Ctrl+C (SIGINT) or
// SIGTERM, then drains within a 5 s budget and exits 0.
return Runtime.Main(args, cx => cx.RegionAsync("server", async cx =>
{
    var heartbeat = cx.Spawn("heartbeat", async cx =>
    {
        long beats = 0;
        try
        {
            while (true)
            {
                await cx.SleepAsync(TimeSpan.FromSeconds(1));
                beats++;
            }
        }
        finally
        {
            Console.WriteLine($"heartbeat drained after {beats} beats");
        }
    });

    Console.WriteLine("server running; press Ctrl+C to stop");
    await cx.ShutdownSignalAsync();
    heartbeat.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)), "shutdown");
}));
