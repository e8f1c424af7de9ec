using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Asupersync.Macaroons;

/// <summary>
/// Counts the uses of <c>max-uses</c> and <c>rate-limit</c> caveats. A counter belongs to a caveat <em>at its place in a
/// chain</em> (keyed by the chain signature just after that caveat), so every token derived from a token shares the
/// token's counters: attenuating a <c>max-uses 5</c> token and handing the child out never yields a sixth use.
/// </summary>
/// <remarks>
/// <para>Exact under concurrency: a counter is one CAS-updated word (max-uses) or one CAS-updated word per window
/// (rate-limit), so the number of granted uses never exceeds the limit, whatever the interleaving. A use that another
/// caveat or layer denies gives its counted slots back.</para>
/// <para>Each runtime keeps one ledger for the tokens its tasks carry (<see cref="Of(Cx)"/>); the HTTP middleware uses
/// the runtime's ledger by default. Entries live as long as the ledger (pair <c>max-uses</c> with <c>time-before</c>
/// for tokens minted in bulk).</para>
/// </remarks>
public sealed class UseLedger
{
    private readonly ConcurrentDictionary<CounterKey, object> _counters = new();

    /// <summary>The number of distinct counters (for diagnostics).</summary>
    public int CounterCount => _counters.Count;

    /// <summary>The ledger of the runtime <paramref name="cx"/> belongs to.</summary>
    /// <param name="cx">A task's context.</param>
    /// <returns>The runtime's ledger.</returns>
    public static UseLedger Of(Cx cx)
    {
        ArgumentNullException.ThrowIfNull(cx);
        return cx.Task.Runtime.GetOrAddService(static _ => new UseLedger());
    }

    internal bool TryUse(in CounterKey key, long max, out Lease lease)
    {
        lease = default;
        var counter = (UseCounter)_counters.GetOrAdd(key, static _ => new UseCounter());
        while (true)
        {
            long used = Volatile.Read(ref counter.Used);
            if (used >= max) return false;
            if (Interlocked.CompareExchange(ref counter.Used, used + 1, used) == used)
            {
                lease = new Lease(counter);
                return true;
            }
        }
    }

    internal bool TryRate(in CounterKey key, int count, long windowTicks, long nowTicks, out Lease lease)
    {
        lease = default;
        var counter = (RateCounter)_counters.GetOrAdd(key, static _ => new RateCounter());
        long index = nowTicks / windowTicks;
        while (true)
        {
            var w = Volatile.Read(ref counter.Current);
            if (w is null || w.Index < index)
            {
                // A newer window begins: install it (whoever wins, everyone retries on the installed one).
                Interlocked.CompareExchange(ref counter.Current, new RateWindow(index), w);
                continue;
            }
            // A clock read before the window changed counts against the newer window: conservative, never over.
            int used = Volatile.Read(ref w.Used);
            if (used >= count) return false;
            if (Interlocked.CompareExchange(ref w.Used, used + 1, used) == used)
            {
                lease = new Lease(w);
                return true;
            }
        }
    }

    /// <summary>How many uses a counter has granted (tests and diagnostics).</summary>
    internal long UsesOf(in CounterKey key) => _counters.TryGetValue(key, out var c) ? c switch
    {
        UseCounter u => Volatile.Read(ref u.Used),
        RateCounter r => Volatile.Read(ref r.Current) is { } w ? Volatile.Read(ref w.Used) : 0,
        _ => 0,
    } : 0;

    internal sealed class UseCounter
    {
        internal long Used;
    }

    internal sealed class RateCounter
    {
        internal RateWindow? Current;
    }

    internal sealed class RateWindow(long index)
    {
        internal readonly long Index = index;
        internal int Used;
    }

    /// <summary>A granted use that can be given back (when another check of the same operation denies).</summary>
    internal readonly struct Lease(object counter)
    {
        private readonly object? _counter = counter;

        internal void Release()
        {
            switch (_counter)
            {
                case UseCounter u: Interlocked.Decrement(ref u.Used); break;
                case RateWindow w: Interlocked.Decrement(ref w.Used); break;
            }
        }
    }
}

/// <summary>A 32-byte chain signature as a dictionary key.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct CounterKey(ulong A, ulong B, ulong C, ulong D)
{
    internal static CounterKey From(ReadOnlySpan<byte> sig)
    {
        var w = MemoryMarshal.Cast<byte, ulong>(sig[..32]);
        return new CounterKey(w[0], w[1], w[2], w[3]);
    }
}
