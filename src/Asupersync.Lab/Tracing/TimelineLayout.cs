namespace Asupersync.Lab;

/// <summary>
/// Where the HTML trace's virtual-time view puts things: the x position of every step and the y position of every
/// task's lane. Time runs left to right to scale: the gap between two instants of virtual time is proportional to
/// the time between them (<see cref="PixelsPerMs"/>). Steps that run at one instant — a burst, which takes no
/// virtual time — share a band at that instant, as wide as the number of steps in it (up to a cap), so a burst is
/// visible as such and a 5 s drain is 1000 times wider than a 5 ms one.
/// </summary>
internal sealed class TimelineLayout
{
    internal const double LabelWidth = 220, LaneHeight = 24, Top = 56, RightMargin = 320;
    internal const double GapWidth = 1100, BurstStepWidth = 3, MaxBurstWidth = 90, MaxBurstsWidth = 2400;

    private readonly double[] _stepX, _stepWidth;
    private readonly Dictionary<long, int> _laneOf = new();
    private readonly List<long> _lanes = new();
    private readonly List<Instant> _instants = new();

    /// <summary>One instant of virtual time at which steps ran.</summary>
    internal readonly record struct Instant(TimeSpan Time, double X, double Width, int FirstStep, int Steps);

    internal TimelineLayout(LabTrace trace, int steps)
    {
        Steps = steps;
        var time = new TimeSpan?[steps];
        foreach (var e in trace.Events)
        {
            if (e.Kind == LabEventKind.Spawned && !_laneOf.ContainsKey(e.TaskId))
            {
                _laneOf[e.TaskId] = _lanes.Count;
                _lanes.Add(e.TaskId);
            }
            if (e.Kind is LabEventKind.Step or LabEventKind.TimerFired && e.Step >= 0 && e.Step < steps) time[e.Step] ??= e.Time;
        }

        // Group the steps into instants (virtual time never goes back, so equal times are consecutive).
        var groups = new List<(TimeSpan Time, int First, int Count)>();
        TimeSpan last = TimeSpan.Zero;
        for (int s = 0; s < steps; s++)
        {
            var t = time[s] ?? last;
            if (groups.Count > 0 && groups[^1].Time == t) groups[^1] = (t, groups[^1].First, groups[^1].Count + 1);
            else groups.Add((t, s, 1));
            last = t;
        }

        double burstsWidth = groups.Sum(g => Math.Min(MaxBurstWidth, g.Count * BurstStepWidth));
        double shrink = burstsWidth > MaxBurstsWidth ? MaxBurstsWidth / burstsWidth : 1;
        double totalMs = groups.Count == 0 ? 0 : (groups[^1].Time - groups[0].Time).TotalMilliseconds;
        PixelsPerMs = totalMs > 0 ? GapWidth / totalMs : 0;

        _stepX = new double[steps];
        _stepWidth = new double[steps];
        double x = LabelWidth;
        for (int i = 0; i < groups.Count; i++)
        {
            var (t, first, count) = groups[i];
            if (i > 0) x += (t - groups[i - 1].Time).TotalMilliseconds * PixelsPerMs;
            double w = Math.Min(MaxBurstWidth, count * BurstStepWidth) * shrink;
            _instants.Add(new Instant(t, x, w, first, count));
            for (int k = 0; k < count; k++)
            {
                _stepX[first + k] = x + k * w / count;
                _stepWidth[first + k] = w / count;
            }
            x += w;
        }
        EndX = x;
    }

    /// <summary>The number of steps laid out.</summary>
    internal int Steps { get; }

    /// <summary>Horizontal pixels per millisecond of virtual time between instants (0 when no virtual time passed).</summary>
    internal double PixelsPerMs { get; }

    /// <summary>The x just after the last step.</summary>
    internal double EndX { get; }

    /// <summary>The SVG's width.</summary>
    internal double Width => EndX + RightMargin;

    /// <summary>The SVG's height (one lane per task and one for the virtual clock).</summary>
    internal double Height => Top + (_lanes.Count + 1) * LaneHeight + 40;

    /// <summary>The tasks in lane order (the order they were spawned).</summary>
    internal IReadOnlyList<long> Lanes => _lanes;

    /// <summary>The instants of virtual time at which steps ran, in order.</summary>
    internal IReadOnlyList<Instant> Instants => _instants;

    /// <summary>The lane of the virtual clock (below every task).</summary>
    internal int ClockLane => _lanes.Count;

    /// <summary>Whether <paramref name="taskId"/> has a lane, and which.</summary>
    internal bool TryGetLane(long taskId, out int lane) => _laneOf.TryGetValue(taskId, out lane);

    /// <summary>The top of lane <paramref name="lane"/>.</summary>
    internal static double LaneY(int lane) => Top + lane * LaneHeight;

    /// <summary>The x where step <paramref name="step"/> starts (before the first step: the left edge; past the last: <see cref="EndX"/>).</summary>
    internal double StepX(int step) => step < 0 ? LabelWidth : step >= Steps ? EndX : _stepX[step];

    /// <summary>The width of step <paramref name="step"/> (0 outside the laid-out steps).</summary>
    internal double StepWidth(int step) => step < 0 || step >= Steps ? 0 : _stepWidth[step];

    /// <summary>The x where step <paramref name="step"/> ends.</summary>
    internal double StepEndX(int step) => StepX(step) + StepWidth(step);
}
