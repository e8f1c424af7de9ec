using System.Runtime.CompilerServices;
using System.Text;
using Asupersync.Sync;

namespace Asupersync.Kernel;

/// <summary>A runtime wait that knows which task(s) it waits on: an edge source of the wait-for graph.</summary>
internal interface IWaitForEdge
{
    /// <summary>
    /// Adds the tasks this wait waits on. False when the wait is no longer blocked (granted, done) or its
    /// targets are not known (then the waiter is not trapped).
    /// </summary>
    bool AddTargets(List<TaskCore> into, out string resource);
}

/// <summary>A primitive whose holders are known tasks (a mutex, the writer of an RwLock, …).</summary>
internal interface IWaitForResource
{
    /// <summary>Adds the holders; false when <paramref name="wait"/> is no longer queued (it was granted or left).</summary>
    bool AddHolders(object wait, List<TaskCore> into, out string resource);
}

/// <summary>
/// The wait-for graph. It is not a separate structure: its edges are the runtime's own wait registrations
/// (a parked task's <see cref="TaskCore.CurrentWait"/>, a primitive's holder field), so keeping it costs nothing on
/// the fast paths. The check runs when a task parks (the slow path of a wait): it walks the waits reachable from
/// the parker, and if every task reached is blocked on a known task with no timer or cancel pending, the set
/// is trapped — a proof of deadlock — and is reported once as a <see cref="DiagnosticKind.Deadlock"/> diagnostic.
/// Of the tasks whose last registrations close a cycle, at least one sees all of the others registered (each
/// registers, then checks, under the tasks' own locks), so a deadlock is reported when it forms.
/// </summary>
internal static class WaitForGraph
{
    private const int MaxNodes = 256;

    /// <summary>
    /// The most holders of one resource the graph follows (a semaphore's permit holders, an RwLock's readers): a wait
    /// on a resource with more is treated as unknown, so a park costs O(1) however wide the resource.
    /// </summary>
    internal const int MaxHolders = 32;
    private static readonly ConditionalWeakTable<RuntimeCore, HashSet<long>> s_reported = new();

    /// <summary>Called right after <paramref name="task"/> registered a wait.</summary>
    internal static void OnParked(TaskCore task)
    {
        if (!task.Runtime.Options.DetectDeadlocks) return;
        // Fast exit, without allocating: a wait with no known target (a channel, notify, a semaphore, …), or whose
        // targets are none of them parked on known targets (a join of a running task), cannot close a cycle.
        if (!MayBeTrapped(task)) return;
        var first = Snapshot(task);
        if (first is null) return;
        var second = Snapshot(task);
        if (second is null || !Same(first, second)) return;
        Report(task.Runtime, first);
    }

    [ThreadStatic] private static List<TaskCore>? t_first, t_second;

    /// <summary>
    /// Two hops of the walk with reused lists: is <paramref name="task"/> blocked on known tasks that are all blocked
    /// on known tasks themselves? (Necessary for it to be trapped; a park behind a running holder stops here.)
    /// </summary>
    private static bool MayBeTrapped(TaskCore task)
    {
        var first = t_first ??= new List<TaskCore>(2);
        var second = t_second ??= new List<TaskCore>(2);
        try
        {
            if (!Blocked(task, first, out _, out _)) return false;
            foreach (var target in first)
            {
                if (!Blocked(target, second, out _, out _)) return false;
            }
            return true;
        }
        finally
        {
            first.Clear();
            second.Clear();
        }
    }

    /// <summary>
    /// For the Lab: a description of the trapped set reachable from <paramref name="task"/>, or null.
    /// <paramref name="closedWorld"/>, when given, is every live task of a run known to be stuck (no task can run, no
    /// timer is pending, no outside code can act): then a wait whose wakers are anonymous (a channel's other side,
    /// a barrier's missing arrivals) waits on every other task of that list.
    /// </summary>
    internal static string? DescribeTrapped(TaskCore task, IReadOnlyList<TaskCore>? closedWorld = null)
    {
        t_closedWorld = closedWorld;
        try
        {
            var s = Snapshot(task);
            return s is null ? null : Describe(s, out _);
        }
        finally
        {
            t_closedWorld = null;
        }
    }

    [ThreadStatic] private static IReadOnlyList<TaskCore>? t_closedWorld;

    /// <summary>
    /// The targets of a wait any task could end (a channel receive: any sender handle's holder; a barrier: any
    /// arrival). Unknown (false) at run time; in a closed world (<see cref="DescribeTrapped"/>), every other task.
    /// </summary>
    internal static bool AnyOtherTask(TaskCore waiter, List<TaskCore> into)
    {
        if (t_closedWorld is not { } world) return false;
        foreach (var t in world)
        {
            if (!ReferenceEquals(t, waiter)) into.Add(t);
        }
        return into.Count > 0;
    }

    internal static bool PrimitiveTargets<T>(PrimitiveWait<T> wait, IWaitOwner<T> owner, List<TaskCore> into, out string resource)
    {
        if (owner is IWaitForResource r) return r.AddHolders(wait, into, out resource);
        resource = "";
        return false;
    }

    /// <summary>A resource name for a diagnostic: the Lab's object id when there is one, else a stable hash.</summary>
    internal static string Name(string kind, long id, object o) =>
        id != 0 ? $"{kind} {id}" : $"{kind} #{RuntimeHelpers.GetHashCode(o):x}";

    private sealed record Node(TaskCore Task, IInterruptible Wait, string Resource, TaskCore[] Targets);

    private static List<Node>? Snapshot(TaskCore start)
    {
        var nodes = new List<Node>();
        var index = new Dictionary<TaskCore, int>(ReferenceEqualityComparer.Instance);
        var work = new Stack<TaskCore>();
        var targets = new List<TaskCore>(2);
        work.Push(start);
        index[start] = -1;
        while (work.Count > 0)
        {
            var t = work.Pop();
            if (!Blocked(t, targets, out var wait, out var resource)) return null;
            index[t] = nodes.Count;
            nodes.Add(new Node(t, wait!, resource, targets.ToArray()));
            foreach (var n in targets)
            {
                if (index.ContainsKey(n)) continue;
                if (index.Count >= MaxNodes) return null;
                index[n] = -1;
                work.Push(n);
            }
        }
        return nodes;
    }

    /// <summary>True when <paramref name="t"/> is parked on known tasks and nothing but them can wake it.</summary>
    private static bool Blocked(TaskCore t, List<TaskCore> targets, out IInterruptible? wait, out string resource)
    {
        targets.Clear();
        resource = "";
        wait = t.CurrentWait;
        if (wait is not IWaitForEdge edge) return false;
        // A deadline (own or region's) or a pending cancel will wake it.
        if (t.Deadline is not null || t.Region.Budget.Deadline is not null || t.CleanupDeadlineIfCancelled is not null) return false;
        if (!edge.AddTargets(targets, out resource) || targets.Count == 0) return false;
        return true;
    }

    private static bool Same(List<Node> a, List<Node> b)
    {
        if (a.Count != b.Count) return false;
        var waits = new HashSet<IInterruptible>(ReferenceEqualityComparer.Instance);
        foreach (var n in a) waits.Add(n.Wait);
        foreach (var n in b)
        {
            if (!waits.Contains(n.Wait)) return false;
        }
        return true;
    }

    private static string Describe(List<Node> nodes, out List<TaskCore> cycleOut)
    {
        var cycle = FindCycle(nodes);
        cycleOut = cycle;
        var sb = new StringBuilder("deadlock: ");
        sb.Append(cycle.Count).Append(" task(s) wait on each other and nothing else can wake them. Wait cycle: ");
        for (int i = 0; i < cycle.Count; i++)
        {
            var n = nodes.First(x => ReferenceEquals(x.Task, cycle[i]));
            var next = cycle[(i + 1) % cycle.Count];
            if (i > 0) sb.Append("; ");
            sb.Append(Task(n.Task)).Append(" waits for ").Append(n.Resource);
            if (n.Resource == "join") sb.Append(" of ").Append(Task(next));
            else if (IsAnonymous(n.Resource)) sb.Append(" (any other task could end it; all are blocked, e.g. ").Append(Task(next)).Append(')');
            else sb.Append(" held by ").Append(Task(next));
        }
        var others = nodes.Where(n => !cycle.Contains(n.Task)).ToList();
        if (others.Count > 0)
        {
            sb.Append(". Also blocked behind it: ");
            sb.Append(string.Join("; ", others.Select(n => IsAnonymous(n.Resource) ? $"{Task(n.Task)} waits for {n.Resource}" : $"{Task(n.Task)} waits for {n.Resource} ({string.Join(", ", n.Targets.Select(Task))})")));
        }
        return sb.ToString();
    }

    private static bool IsAnonymous(string resource) => resource.StartsWith("barrier", StringComparison.Ordinal) || resource.StartsWith("channel", StringComparison.Ordinal);

    private static string Task(TaskCore t) => $"task {t.Id} '{t.Name}'";

    /// <summary>A cycle among the trapped nodes (one exists: every node has a successor in the finite set).</summary>
    private static List<TaskCore> FindCycle(List<Node> nodes)
    {
        var byTask = new Dictionary<TaskCore, Node>(ReferenceEqualityComparer.Instance);
        foreach (var n in nodes) byTask[n.Task] = n;
        var path = new List<TaskCore>();
        var cur = nodes[0].Task;
        while (true)
        {
            int at = path.FindIndex(x => ReferenceEquals(x, cur));
            if (at >= 0) return path.GetRange(at, path.Count - at);
            path.Add(cur);
            cur = Next(byTask[cur], byTask);
        }
    }

    /// <summary>
    /// The successor to follow: the first target, except from an anonymous wait (any other task), where a task that
    /// waits on a resource this one holds (else one joining it) closes the most telling cycle.
    /// </summary>
    private static TaskCore Next(Node n, Dictionary<TaskCore, Node> byTask)
    {
        if (!IsAnonymous(n.Resource)) return n.Targets[0];
        TaskCore? joiner = null;
        foreach (var t in n.Targets)
        {
            var m = byTask[t];
            if (IsAnonymous(m.Resource) || !m.Targets.Contains(n.Task, ReferenceEqualityComparer.Instance)) continue;
            if (m.Resource != "join") return t; // waits on a resource this task holds: the cycle to name
            joiner ??= t;
        }
        return joiner ?? n.Targets[0];
    }

    private static void Report(RuntimeCore rt, List<Node> nodes)
    {
        var message = Describe(nodes, out var cycle);
        var reported = s_reported.GetValue(rt, static _ => new HashSet<long>());
        lock (reported)
        {
            // One report per cycle (a task joining the queue behind it later is not a new deadlock).
            foreach (var t in cycle)
            {
                if (reported.Contains(t.Id)) return;
            }
            foreach (var t in cycle) reported.Add(t.Id);
        }
        rt.Diagnostics.Report(DiagnosticKind.Deadlock, cycle[0], message);
        if (rt.Options.BreakDeadlocks)
        {
            var victim = cycle.MaxBy(t => t.Id)!;
            victim.RequestCancel(new CancelReason(CancelKind.Deadlock, message, rt.Now, victim.Region.Id, victim.Id), Budget.Unlimited);
        }
    }
}
