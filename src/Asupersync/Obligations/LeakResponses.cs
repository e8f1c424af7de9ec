using Asupersync.Kernel;

namespace Asupersync;

/// <summary>Applies a region's <see cref="LeakResponse"/> to a leak that was already counted and aborted.</summary>
internal static class LeakResponses
{
    /// <summary>Reports the leak as the region's response says; returns the failure to join into the outcome, or null.</summary>
    /// <param name="region">The region whose response applies (the holder's).</param>
    /// <param name="holder">The holder task, or null for obligations found at region close.</param>
    /// <param name="message">Which obligations leaked.</param>
    internal static Outcome<Unit>? Apply(RegionCore region, TaskCore? holder, string message)
    {
        var mode = region.LeakResponse;
        if (mode == LeakResponse.Silent) return null; // counted when it was marked leaked; nothing else
        region.Runtime.Diagnostics.ReportLeak(holder, message, region);
        switch (mode)
        {
            case LeakResponse.Fail:
                return Outcome<Unit>.Err(new ObligationLeakedException(message));
            case LeakResponse.Panic:
                return Outcome<Unit>.Panicked(new ObligationLeakedException(message));
            case LeakResponse.Log:
                // The runtime's own reporting path, not runtime-managed code: writing to standard error is the point.
                try { Console.Error.WriteLine("asupersync: obligation leak: " + message); }
                catch (IOException) { /* a closed stderr must not take the runtime down */ }
                return null;
            default:
                return null;
        }
    }
}
