namespace Asupersync.Lab.Exploration;

/// <summary>
/// Stateless dynamic partial-order reduction: source-set DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas,
/// POPL 2014, Algorithm 1), run as repeated executions with forced prefixes.
/// </summary>
/// <remarks>
/// <para>Node <c>k</c> is the state before step <c>k</c> of the current run. It keeps the processes enabled there,
/// the one chosen, the backtrack set (processes that must be tried from here), the ones already done (with the
/// objects their first step touched) and the sleep set (processes whose step from here is known to lead only to
/// explored classes, until a dependent step wakes them).</para>
/// <para>After each run, every <em>race</em> — two dependent steps of different processes with no other
/// happens-before path between them — is examined: for race (j, i), the processes that can start the reversed
/// order from node j (the initials of the steps after j that do not depend on j, followed by i) are computed, and
/// if none is in node j's backtrack set yet, one of them is added. The search then backtracks to the deepest node
/// with an untried, non-sleeping backtrack process. With sleep sets no two complete runs are in the same class;
/// some runs end early because every enabled process sleeps (counted as pruned).</para>
/// </remarks>
internal sealed class DporScheduler : ILabScheduler
{
    private sealed class Node
    {
        internal long[] Enabled = [];
        internal long Chosen;
        internal readonly List<long> Backtrack = new();
        internal readonly List<long> Done = new();
        internal List<(long Proc, long[] Acc)> Sleep = new();
        internal readonly Dictionary<long, long[]> ExploredAcc = new();
    }

    private readonly List<Node> _nodes = new();

    /// <summary>Set when a forced prefix could not be replayed (the program is not deterministic).</summary>
    internal string? Divergence { get; private set; }

    /// <summary>True when the last run ended because every enabled process was asleep.</summary>
    internal bool Blocked { get; private set; }

    public int Choose(LabRun run, ReadOnlySpan<long> enabled)
    {
        int k = run.StepCount;
        if (k > 0) RecordStep(run, k - 1);
        if (k < _nodes.Count)
        {
            int forced = enabled.IndexOf(_nodes[k].Chosen);
            if (forced < 0)
            {
                Divergence = $"the program is not deterministic: replaying a prefix, step {k} should run process {_nodes[k].Chosen}, which is not enabled";
                return -1;
            }
            return forced;
        }
        var node = new Node { Enabled = enabled.ToArray(), Sleep = k == 0 ? new() : ChildSleep(_nodes[k - 1]) };
        for (int i = 0; i < enabled.Length; i++)
        {
            if (!IsAsleep(node, enabled[i]))
            {
                node.Chosen = enabled[i];
                node.Backtrack.Add(enabled[i]);
                _nodes.Add(node);
                return i;
            }
        }
        Blocked = true;
        return -1;
    }

    /// <summary>Records the last step and adds backtrack points for every race of the run.</summary>
    internal void AfterRun(LabRun run)
    {
        int n = run.StepCount;
        if (n > 0) RecordStep(run, n - 1);
        if (_nodes.Count > n) _nodes.RemoveRange(n, _nodes.Count - n);
        AnalyzeRaces(run);
        // A step that disabled the clock races with the clock step that never happened: try the clock first there.
        foreach (int i in run.ClockDisablingSteps)
        {
            if (i < _nodes.Count && Array.IndexOf(_nodes[i].Enabled, LabRun.ClockProcess) >= 0 && !_nodes[i].Backtrack.Contains(LabRun.ClockProcess))
                _nodes[i].Backtrack.Add(LabRun.ClockProcess);
        }
    }

    /// <summary>Sets up the next run's forced prefix; false when the search is complete.</summary>
    internal bool Next()
    {
        Blocked = false;
        for (int k = _nodes.Count - 1; k >= 0; k--)
        {
            var node = _nodes[k];
            if (!node.Done.Contains(node.Chosen)) node.Done.Add(node.Chosen);
            foreach (var q in node.Backtrack)
            {
                if (node.Done.Contains(q) || IsAsleep(node, q) || Array.IndexOf(node.Enabled, q) < 0) continue;
                node.Chosen = q;
                _nodes.RemoveRange(k + 1, _nodes.Count - k - 1);
                return true;
            }
            _nodes.RemoveAt(k);
        }
        return false;
    }

    private void RecordStep(LabRun run, int i)
    {
        var node = _nodes[i];
        if (!node.ExploredAcc.ContainsKey(node.Chosen)) node.ExploredAcc[node.Chosen] = run.StepAccesses(i).ToArray();
    }

    private static bool IsAsleep(Node node, long p)
    {
        foreach (var (q, _) in node.Sleep)
        {
            if (q == p) return true;
        }
        return false;
    }

    /// <summary>The sleep set below <paramref name="parent"/>: its sleepers and already-explored siblings that are independent of the chosen step.</summary>
    private static List<(long, long[])> ChildSleep(Node parent)
    {
        var chosenAcc = parent.ExploredAcc[parent.Chosen];
        var result = new List<(long, long[])>();
        foreach (var (q, acc) in parent.Sleep)
        {
            if (q != parent.Chosen && Independent(acc, chosenAcc)) result.Add((q, acc));
        }
        foreach (var q in parent.Done)
        {
            if (q == parent.Chosen || IsAsleep(parent, q)) continue;
            var acc = parent.ExploredAcc[q];
            if (Independent(acc, chosenAcc)) result.Add((q, acc));
        }
        return result;
    }

    private static bool Independent(ReadOnlySpan<long> a, ReadOnlySpan<long> b)
    {
        foreach (var x in a)
        {
            if (b.Contains(x)) return false;
        }
        return true;
    }

    private void AnalyzeRaces(LabRun run)
    {
        int n = run.StepCount;
        if (n == 0) return;
        var dense = new Dictionary<long, int>();
        var proc = new int[n];
        var local = new int[n];
        var counts = new List<int>();
        for (int i = 0; i < n; i++)
        {
            long p = run.StepProcess(i);
            if (!dense.TryGetValue(p, out int d))
            {
                d = dense.Count;
                dense[p] = d;
                counts.Add(0);
            }
            proc[i] = d;
            local[i] = counts[d]++;
        }
        int procs = dense.Count;
        // vc[i][q] = how many of q's steps happen before or at step i (happens-before = program order + dependency).
        var vc = new int[n][];
        var lastObj = new Dictionary<long, int>();
        var lastOfProc = new int[procs];
        Array.Fill(lastOfProc, -1);
        var scratch = new int[procs];
        var candidates = new List<int>();
        for (int i = 0; i < n; i++)
        {
            int p = proc[i];
            var acc = run.StepAccesses(i);
            candidates.Clear();
            foreach (var o in acc)
            {
                if (lastObj.TryGetValue(o, out int j) && proc[j] != p && !candidates.Contains(j)) candidates.Add(j);
            }
            var v = new int[procs];
            if (lastOfProc[p] >= 0) Join(v, vc[lastOfProc[p]]);
            foreach (var o in acc)
            {
                if (lastObj.TryGetValue(o, out int m)) Join(v, vc[m]);
            }
            v[p] = local[i] + 1;
            vc[i] = v;
            foreach (int j in candidates)
            {
                // A race only if j reaches i directly: not through the process's previous step or another object.
                Array.Clear(scratch);
                if (lastOfProc[p] >= 0) Join(scratch, vc[lastOfProc[p]]);
                foreach (var o in acc)
                {
                    if (lastObj.TryGetValue(o, out int m) && m != j) Join(scratch, vc[m]);
                }
                if (scratch[proc[j]] >= local[j] + 1) continue;
                OnRace(run, j, i, proc, local, vc);
            }
            foreach (var o in acc) lastObj[o] = i;
            lastOfProc[p] = i;
        }
    }

    private void OnRace(LabRun run, int j, int i, int[] proc, int[] local, int[][] vc)
    {
        if (j >= _nodes.Count) return;
        var node = _nodes[j];
        int pj = proc[j], lj = local[j] + 1;
        // v = the steps after j that do not happen after j, then i. Its initials are the processes whose first
        // step in v has no predecessor in v: any of them can start the reversed order from node j.
        var inV = new List<int>();
        var seen = new List<int>();
        var initials = new List<long>();
        for (int k = j + 1; k <= i; k++)
        {
            if (k < i && vc[k][pj] >= lj) continue;
            int q = proc[k];
            if (!seen.Contains(q))
            {
                seen.Add(q);
                bool initial = true;
                foreach (int y in inV)
                {
                    if (vc[k][proc[y]] >= local[y] + 1)
                    {
                        initial = false;
                        break;
                    }
                }
                if (initial) initials.Add(run.StepProcess(k));
            }
            inV.Add(k);
        }
        foreach (var q in initials)
        {
            if (node.Backtrack.Contains(q)) return;
        }
        long pick = 0;
        bool found = false;
        long pi = run.StepProcess(i);
        if (initials.Contains(pi) && Array.IndexOf(node.Enabled, pi) >= 0)
        {
            pick = pi;
            found = true;
        }
        else
        {
            foreach (var q in initials)
            {
                if (Array.IndexOf(node.Enabled, q) >= 0)
                {
                    pick = q;
                    found = true;
                    break;
                }
            }
        }
        // No initial enabled at node j: the reversal is infeasible (e.g. the clock firing a timer not yet added).
        if (found) node.Backtrack.Add(pick);
    }

    private static void Join(int[] into, int[] from)
    {
        for (int q = 0; q < from.Length && q < into.Length; q++)
        {
            if (from[q] > into[q]) into[q] = from[q];
        }
    }
}
