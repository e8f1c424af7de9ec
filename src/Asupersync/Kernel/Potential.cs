using Asupersync.Kernel;

namespace Asupersync
{
    /// <summary>
    /// The weights of the runtime's Lyapunov potential V (see <see cref="Potential"/>). Pick a preset or set your own
    /// in <see cref="RuntimeOptions.PotentialWeights"/>.
    /// </summary>
    /// <param name="LiveTasks">w₁: weight of each live (not yet completed) task.</param>
    /// <param name="ObligationAgeSeconds">w₂: weight of each second of age of each open (Reserved) obligation.</param>
    /// <param name="DrainingRegions">w₃: weight of each region in the Draining state.</param>
    /// <param name="DeadlinePressure">w₄: weight of the deadline pressure (see <see cref="Potential.DeadlinePressure"/>).</param>
    public sealed record PotentialWeights(double LiveTasks, double ObligationAgeSeconds, double DrainingRegions, double DeadlinePressure)
    {
        /// <summary>Every component weighted 1 (obligation age per second).</summary>
        public static PotentialWeights Default { get; } = new(1, 1, 1, 1);

        /// <summary>Obligation age weighted ten times the other components.</summary>
        public static PotentialWeights ObligationFocused { get; } = new(1, 10, 1, 1);

        /// <summary>Deadline pressure weighted ten times the other components.</summary>
        public static PotentialWeights DeadlineFocused { get; } = new(1, 1, 1, 10);
    }

    /// <summary>
    /// A reading of the runtime's Lyapunov potential V = w₁·live tasks + w₂·Σ age of open obligations
    /// + w₃·draining regions + w₄·deadline pressure. The kernel maintains its parts incrementally (a few interlocked
    /// adds per spawn, completion, reserve, resolve and region drain transition; no scan), so a reading costs O(1).
    /// Each component is exact at the moment it is read; under concurrent work the components are read one after the
    /// other, not as one atomic snapshot.
    /// </summary>
    /// <remarks>
    /// While the runtime drains with no new work admitted, V does not increase from one scheduler step to the next
    /// except through time passing. The events that may raise it: a spawn (w₁; a region's finalizer task is spawned
    /// by the completion of its last task, so that pair never raises it), a reserve (w₂, its age starts at zero but
    /// the count grows), a region entering Draining (w₃), and time advancing while obligations are open (their ages
    /// grow). A reserve alone adds an obligation of age zero, so it raises V only as time then passes; a resolve, a
    /// completion and a region leaving Draining only lower it.
    /// </remarks>
    public readonly record struct Potential
    {
        /// <summary>Tasks spawned and not yet completed (region bodies and finalizer tasks included).</summary>
        public long LiveTasks { get; init; }

        /// <summary>Obligations Reserved and not yet resolved.</summary>
        public long OpenObligations { get; init; }

        /// <summary>Σ age of the open obligations (count · now − Σ reserve times).</summary>
        public TimeSpan ObligationAge { get; init; }

        /// <summary>Regions in the Draining state (cancelled, with tasks still running).</summary>
        public long DrainingRegions { get; init; }

        /// <summary>Live tasks that have a deadline.</summary>
        public long TasksWithDeadline { get; init; }

        /// <summary>Σ slack (deadline − now) of the live tasks that have a deadline; negative past due.</summary>
        public TimeSpan DeadlineSlack { get; init; }

        /// <summary>
        /// The deadline pressure: in this version the number of live tasks that have a deadline (each counts 1), so that
        /// it is O(1) and a completion never raises it. A slack-weighted form (Σ max(0, 1 − slack/horizon)) needs a
        /// per-task event when a task's slack crosses the horizon; <see cref="DeadlineSlack"/> is kept for it.
        /// </summary>
        public double DeadlinePressure { get; init; }

        /// <summary>The weights the value was computed with.</summary>
        public PotentialWeights Weights { get; init; }

        /// <summary>V, the weighted sum of the components.</summary>
        public double Value => Weights is null ? 0
            : Weights.LiveTasks * LiveTasks + Weights.ObligationAgeSeconds * ObligationAge.TotalSeconds
              + Weights.DrainingRegions * DrainingRegions + Weights.DeadlinePressure * DeadlinePressure;
    }
}

namespace Asupersync.Kernel
{
    /// <summary>
    /// The counters behind <see cref="Potential"/>: each kernel event adds to one or two of them (interlocked, no lock,
    /// no scan). Σ age is kept as count·now − Σ reserve ticks and Σ slack as Σ deadline ticks − count·now, so the
    /// passage of time costs nothing.
    /// </summary>
    internal sealed class PotentialTracker
    {
        private long _live, _obligations, _reserveTicks, _draining, _deadlined, _deadlineTicks;

        /// <summary>Off with <see cref="RuntimeOptions.TrackPotential"/> false: every event is a no-op, every reading zero.</summary>
        internal bool Enabled = true;

        internal void TaskSpawned(TimeSpan? deadline)
        {
            if (!Enabled) return;
            Interlocked.Increment(ref _live);
            if (deadline is { } d)
            {
                Interlocked.Increment(ref _deadlined);
                Interlocked.Add(ref _deadlineTicks, d.Ticks);
            }
        }

        internal void TaskCompleted(TimeSpan? deadline)
        {
            if (!Enabled) return;
            Interlocked.Decrement(ref _live);
            if (deadline is { } d)
            {
                Interlocked.Decrement(ref _deadlined);
                Interlocked.Add(ref _deadlineTicks, -d.Ticks);
            }
        }

        internal void ObligationReserved(TimeSpan at)
        {
            if (!Enabled) return;
            Interlocked.Increment(ref _obligations);
            Interlocked.Add(ref _reserveTicks, at.Ticks);
        }

        internal void ObligationResolved(TimeSpan reservedAt)
        {
            if (!Enabled) return;
            Interlocked.Decrement(ref _obligations);
            Interlocked.Add(ref _reserveTicks, -reservedAt.Ticks);
        }

        internal void RegionDraining(int delta)
        {
            if (Enabled) Interlocked.Add(ref _draining, delta);
        }

        internal Potential Read(TimeSpan now, PotentialWeights weights)
        {
            long obligations = Volatile.Read(ref _obligations), reserveTicks = Volatile.Read(ref _reserveTicks);
            long deadlined = Volatile.Read(ref _deadlined), deadlineTicks = Volatile.Read(ref _deadlineTicks);
            var slack = TimeSpan.FromTicks(deadlineTicks - deadlined * now.Ticks);
            return new Potential
            {
                LiveTasks = Volatile.Read(ref _live),
                OpenObligations = obligations,
                ObligationAge = TimeSpan.FromTicks(obligations * now.Ticks - reserveTicks),
                DrainingRegions = Volatile.Read(ref _draining),
                TasksWithDeadline = deadlined,
                DeadlineSlack = slack,
                DeadlinePressure = deadlined,
                Weights = weights,
            };
        }
    }

    internal sealed partial class RuntimeCore
    {
        internal readonly PotentialTracker Potential = new();

        internal Potential ReadPotential() => Potential.Read(Now, Options.PotentialWeights ?? PotentialWeights.Default);

        /// <summary>Test support: the potential's components recounted by walking every open region (O(n); never on a hot path).</summary>
        internal Potential RecountPotential()
        {
            var now = Now;
            long live = 0, obligations = 0, reserveTicks = 0, draining = 0, deadlined = 0, deadlineTicks = 0;
            var stack = new Stack<RegionCore>();
            foreach (var root in OpenRoots) stack.Push(root);
            while (stack.Count > 0)
            {
                var r = stack.Pop();
                r.Recount(ref live, ref obligations, ref reserveTicks, ref draining, ref deadlined, ref deadlineTicks);
                foreach (var c in r.Children) stack.Push(c);
            }
            var slack = TimeSpan.FromTicks(deadlineTicks - deadlined * now.Ticks);
            return new Potential
            {
                LiveTasks = live,
                OpenObligations = obligations,
                ObligationAge = TimeSpan.FromTicks(obligations * now.Ticks - reserveTicks),
                DrainingRegions = draining,
                TasksWithDeadline = deadlined,
                DeadlineSlack = slack,
                DeadlinePressure = deadlined,
                Weights = Options.PotentialWeights ?? PotentialWeights.Default,
            };
        }
    }

    internal sealed partial class RegionCore
    {
        internal void Recount(ref long live, ref long obligations, ref long reserveTicks, ref long draining, ref long deadlined, ref long deadlineTicks)
        {
            lock (this)
            {
                if (_state == RegionState.Draining) draining++;
                for (var t = _head; t is not null; t = t.RegionNext)
                {
                    if (t.IsDone) continue;
                    live++;
                    if (t.Deadline is { } d)
                    {
                        deadlined++;
                        deadlineTicks += d.Ticks;
                    }
                }
                for (var o = _ledgerHead; o is not null; o = o.LedgerNext)
                {
                    obligations++;
                    reserveTicks += o.ReservedAt.Ticks;
                }
            }
        }
    }
}
