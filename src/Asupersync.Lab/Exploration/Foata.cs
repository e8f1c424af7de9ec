namespace Asupersync.Lab.Exploration;

/// <summary>
/// The canonical fingerprint of a run's Mazurkiewicz class. Each step is labelled (process, index within the
/// process, objects touched); its Foata level is one more than the highest level of an earlier step it depends on
/// (same process or a common object). Sorting steps by (level, label) gives the Foata normal form, which is the same
/// for every interleaving in the class and different for runs in different classes.
/// </summary>
internal static class Foata
{
    // Reused per thread: exploration fingerprints every schedule.
    [ThreadStatic] private static Dictionary<long, int>? t_lastObj;
    [ThreadStatic] private static Dictionary<long, (int Level, int Count)>? t_lastProc;
    [ThreadStatic] private static Entry[]? t_entries;

    private struct Entry : IComparable<Entry>
    {
        internal int Level;
        internal long Proc;
        internal int Local;
        internal ulong Acc;

        public readonly int CompareTo(Entry other)
        {
            int c = Level.CompareTo(other.Level);
            if (c != 0) return c;
            c = Proc.CompareTo(other.Proc);
            return c != 0 ? c : Local.CompareTo(other.Local);
        }
    }

    internal static ulong Fingerprint(LabRun run)
    {
        int n = run.StepCount;
        var lastObj = t_lastObj ??= new Dictionary<long, int>();
        var lastProc = t_lastProc ??= new Dictionary<long, (int, int)>();
        lastObj.Clear();
        lastProc.Clear();
        var entries = t_entries is { } e && e.Length >= n ? e : (t_entries = new Entry[Math.Max(n, 64)]);
        for (int i = 0; i < n; i++)
        {
            long p = run.StepProcess(i);
            lastProc.TryGetValue(p, out var pl);
            int level = pl.Level;
            var acc = run.StepAccesses(i);
            ulong accHash = 0;
            foreach (var o in acc)
            {
                if (lastObj.TryGetValue(o, out int l) && l > level) level = l;
                // The step's objects are part of its label: equivalent runs run the same steps on the same objects.
                accHash += SplitMix64.Mix((ulong)o);
            }
            level++;
            entries[i] = new Entry { Level = level, Proc = p, Local = pl.Count, Acc = accHash };
            lastProc[p] = (level, pl.Count + 1);
            foreach (var o in acc) lastObj[o] = level;
        }
        Array.Sort(entries, 0, n);
        ulong h = 0x84222325cbf29ce4UL;
        for (int i = 0; i < n; i++)
        {
            ref var x = ref entries[i];
            h = SplitMix64.Mix(h ^ (ulong)x.Level) + (ulong)x.Proc;
            h = SplitMix64.Mix(h ^ (ulong)x.Local) + x.Acc;
        }
        return SplitMix64.Mix(h ^ (ulong)n);
    }
}
