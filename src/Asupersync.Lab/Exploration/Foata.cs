namespace Asupersync.Lab.Exploration;

/// <summary>
/// The canonical fingerprint of a run's Mazurkiewicz class. Each step is labelled (process, index within the
/// process); its Foata level is one more than the highest level of an earlier step it depends on (same process or
/// a common object). Sorting steps by (level, label) gives the Foata normal form, which is the same for every
/// interleaving in the class and different for runs in different classes.
/// </summary>
internal static class Foata
{
    internal static ulong Fingerprint(LabRun run)
    {
        int n = run.StepCount;
        var lastObj = new Dictionary<long, int>();
        var lastProc = new Dictionary<long, (int Level, int Count)>();
        var entries = new (int Level, long Proc, int Local)[n];
        for (int i = 0; i < n; i++)
        {
            long p = run.StepProcess(i);
            lastProc.TryGetValue(p, out var pl);
            int level = pl.Level;
            var acc = run.StepAccesses(i);
            foreach (var o in acc)
            {
                if (lastObj.TryGetValue(o, out int l) && l > level) level = l;
            }
            level++;
            entries[i] = (level, p, pl.Count);
            lastProc[p] = (level, pl.Count + 1);
            foreach (var o in acc) lastObj[o] = level;
        }
        Array.Sort(entries);
        ulong h = 0x84222325cbf29ce4UL;
        foreach (var (level, proc, local) in entries)
        {
            h = SplitMix64.Mix(h ^ (ulong)level) + (ulong)proc;
            h = SplitMix64.Mix(h) ^ (ulong)local;
        }
        return SplitMix64.Mix(h ^ (ulong)n);
    }
}
