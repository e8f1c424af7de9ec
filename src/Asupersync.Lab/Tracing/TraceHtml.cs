using System.Globalization;
using System.Net;
using System.Text;

namespace Asupersync.Lab;

/// <summary>
/// Renders a trace as a self-contained HTML page (inline CSS and SVG, no scripts, no external resources). Two views,
/// toggled by a CSS-only switch: tasks as lanes over virtual time (<see cref="TimelineLayout"/>: cancel phases coloured,
/// obligations drawn from reserve to resolve, the failing step marked), and the older step view: one lane
/// per task over the run's steps, each step coloured by the task's cancel phase, waits drawn between steps, the
/// virtual clock's firings in their own lane, virtual time marked where it advances, and failing steps marked.
/// Hovering a mark shows its details.
/// </summary>
internal static class TraceHtml
{
    private const int LabelWidth = 220, LaneHeight = 24, Top = 56, MaxSteps = 4000;

    private enum Phase { Running, CancelRequested, Cancelling }

    internal static string Render(LabTrace trace, string? title)
    {
        int steps = Math.Min(trace.Decisions.Count, MaxSteps);
        var layout = new TimelineLayout(trace, steps);
        var (stepSvg, stepWidth, stepHeight) = StepView(trace, steps);
        string timeSvg = TimeView(trace, layout);

        var failures = new StringBuilder();
        foreach (var f in trace.Failures)
            failures.Append("<li><b>").Append(Esc(f.Oracle)).Append("</b> at step ").Append(f.Step).Append(": ").Append(Esc(f.Message)).Append("</li>");

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
            .Append(Esc(title ?? "Asupersync Lab trace")).Append("</title><style>")
            .Append("body{font:13px system-ui,sans-serif;margin:16px;color:#222;background:#fff}h1{font-size:18px;margin:0 0 4px}.meta{color:#555;margin-bottom:8px}")
            .Append(".legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px}")
            .Append(".scroll{overflow-x:auto;border:1px solid #ddd}.lane0{fill:#fafafa}.lane1{fill:#f0f2f5}.label{font-size:12px;fill:#333}")
            .Append(".step.Running{fill:#3b82f6}.step.CancelRequested{fill:#f59e0b}.step.Cancelling{fill:#dc2626}")
            .Append(".life.Running{fill:#93c5fd}.life.CancelRequested{fill:#fcd34d}.life.Cancelling{fill:#f87171}")
            .Append(".burst{fill:#e0e7ff;opacity:.55}.wait{stroke:#9ca3af;stroke-width:2;stroke-dasharray:3 2}.timer{fill:#10b981}")
            .Append(".done.Ok{fill:#16a34a}.done.Err{fill:#9333ea}.done.Cancelled{fill:#f97316}.done.Panicked{fill:#000}")
            .Append(".ob.Committed{fill:#22c55e}.ob.Aborted{fill:#94a3b8}.ob.Leaked{fill:#c026d3}.ob.Reserved{fill:#0ea5e9}")
            .Append(".cancel{fill:#f59e0b}.ack{fill:#dc2626}.obligation{fill:#0ea5e9}.chaos{fill:#db2777}")
            .Append(".tick{stroke:#d1d5db;stroke-width:1}.time{font-size:10px;fill:#6b7280}")
            .Append(".failure{stroke:#e11d48;stroke-width:2}.failure-label{font-size:11px;fill:#e11d48;font-weight:bold}")
            .Append(".failures{color:#b91c1c}.views .step-view{display:none}#view-steps:checked~.views .step-view{display:block}")
            .Append("#view-steps:checked~.views .time-view{display:none}.toggle{margin:6px 8px 6px 0}</style></head><body>");
        html.Append("<h1>").Append(Esc(title ?? trace.ProgramName ?? "Asupersync Lab trace")).Append("</h1>");
        html.Append("<div class=\"meta\">seed ").Append(trace.Seed).Append(" · strategy ").Append(Esc(trace.Strategy))
            .Append(" · ").Append(trace.Decisions.Count).Append(" steps · ").Append(layout.Lanes.Count).Append(" tasks · ")
            .Append(Ms(layout.Instants.Count == 0 ? TimeSpan.Zero : layout.Instants[^1].Time)).Append(" of virtual time · hash ")
            .Append(trace.Hash.ToString("x16", CultureInfo.InvariantCulture));
        if (trace.Decisions.Count > steps) html.Append(" · showing the first ").Append(steps).Append(" steps");
        html.Append("</div>");
        html.Append("<div class=\"legend\"><span><i class=\"sw\" style=\"background:#3b82f6\"></i>step, running</span><span><i class=\"sw\" style=\"background:#f59e0b\"></i>cancel requested</span>")
            .Append("<span><i class=\"sw\" style=\"background:#dc2626\"></i>cancelling (draining)</span><span><i class=\"sw\" style=\"background:#93c5fd\"></i>alive (thin bar: the task's phase)</span>")
            .Append("<span><i class=\"sw\" style=\"background:#10b981\"></i>timer fired</span>")
            .Append("<span><i class=\"sw\" style=\"background:#16a34a\"></i>Ok</span><span><i class=\"sw\" style=\"background:#f97316\"></i>Cancelled</span>")
            .Append("<span><i class=\"sw\" style=\"background:#9333ea\"></i>Err</span><span><i class=\"sw\" style=\"background:#000\"></i>Panicked</span>")
            .Append("<span><i class=\"sw\" style=\"background:#0ea5e9\"></i>obligation reserved → </span><span><i class=\"sw\" style=\"background:#22c55e\"></i>committed</span>")
            .Append("<span><i class=\"sw\" style=\"background:#94a3b8\"></i>aborted</span><span><i class=\"sw\" style=\"background:#c026d3\"></i>leaked</span>")
            .Append("<span><i class=\"sw\" style=\"background:#e11d48\"></i>failure</span></div>");
        html.Append("<div class=\"meta\">Virtual-time view: x is virtual time, to scale between instants (")
            .Append(layout.PixelsPerMs > 0 ? (1 / layout.PixelsPerMs).ToString("0.###", CultureInfo.InvariantCulture) + " ms per pixel" : "no virtual time passed")
            .Append("); the steps run at one instant share a shaded band as wide as their number. The step view puts one step per column.</div>");
        if (failures.Length > 0) html.Append("<ul class=\"failures\">").Append(failures).Append("</ul>");
        html.Append("<input type=\"radio\" name=\"view\" id=\"view-time\" checked><label class=\"toggle\" for=\"view-time\">virtual time</label>")
            .Append("<input type=\"radio\" name=\"view\" id=\"view-steps\"><label class=\"toggle\" for=\"view-steps\">steps</label>")
            .Append("<div class=\"views\">");
        html.Append(CultureInfo.InvariantCulture, $"<div class=\"scroll time-view\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{layout.Width:0.#}\" height=\"{layout.Height:0.#}\">")
            .Append(timeSvg).Append("</svg></div>");
        html.Append(CultureInfo.InvariantCulture, $"<div class=\"scroll step-view\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{stepWidth:0.#}\" height=\"{stepHeight:0.#}\">")
            .Append(stepSvg).Append("</svg></div></div></body></html>");
        return html.ToString();
    }

    /// <summary>Tasks as lanes over virtual time (<see cref="TimelineLayout"/>).</summary>
    private static string TimeView(LabTrace trace, TimelineLayout layout)
    {
        const double LH = TimelineLayout.LaneHeight;
        double height = layout.Height;
        var svg = new StringBuilder();

        // Lanes and their labels.
        for (int i = 0; i <= layout.Lanes.Count; i++)
        {
            double y = TimelineLayout.LaneY(i);
            string name = i == layout.ClockLane ? "virtual clock" : $"{layout.Lanes[i]} · {trace.NameOf(layout.Lanes[i]) ?? "?"}";
            svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"lane{(i % 2)}\" x=\"0\" y=\"{y}\" width=\"{layout.Width:0.#}\" height=\"{LH}\"/><text class=\"label\" x=\"8\" y=\"{y + LH - 8}\">{Esc(name)}</text>");
        }

        // Instants: a shaded band per burst, a tick and (where there is room) a time label.
        double lastLabel = double.NegativeInfinity;
        double bottom = TimelineLayout.LaneY(layout.ClockLane + 1);
        foreach (var inst in layout.Instants)
        {
            if (inst.Steps > 1)
                svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"burst\" x=\"{inst.X:0.##}\" y=\"{TimelineLayout.Top - 8}\" width=\"{inst.Width:0.##}\" height=\"{bottom - TimelineLayout.Top + 8:0.#}\"><title>{inst.Steps} steps at {Ms(inst.Time)} (no virtual time passes within a burst)</title></rect>");
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"tick\" x1=\"{inst.X:0.##}\" y1=\"{TimelineLayout.Top - 8}\" x2=\"{inst.X:0.##}\" y2=\"{bottom:0.#}\"/>");
            if (inst.X - lastLabel >= 64)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<text class=\"time\" x=\"{inst.X + 2:0.#}\" y=\"{TimelineLayout.Top - 12}\">{Ms(inst.Time)}</text>");
                lastLabel = inst.X;
            }
        }

        // Per task: the phase segments of its life, its steps, its marks; obligations from reserve to resolve.
        var phase = new Dictionary<long, Phase>();
        var segStart = new Dictionary<long, double>();
        var open = new Dictionary<long, (long Task, double X, string? Name)>();
        var marks = new StringBuilder();
        var failureMarks = new StringBuilder();
        void Segment(long task, double to)
        {
            if (!layout.TryGetLane(task, out int lane) || !segStart.TryGetValue(task, out double from)) return;
            if (to > from)
                svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"life {phase.GetValueOrDefault(task)}\" x=\"{from:0.##}\" y=\"{TimelineLayout.LaneY(lane) + 1}\" width=\"{to - from:0.##}\" height=\"3\"><title>{Esc(trace.NameOf(task))}: {phase.GetValueOrDefault(task)}</title></rect>");
            segStart[task] = to;
        }

        foreach (var e in trace.Events)
        {
            if (e.Step >= layout.Steps && e.Kind is not (LabEventKind.Failure or LabEventKind.Obligation or LabEventKind.Completed)) continue;
            double x = layout.StepX(e.Step), w = layout.StepWidth(e.Step), xe = layout.StepEndX(e.Step);
            switch (e.Kind)
            {
                case LabEventKind.Spawned:
                    segStart[e.TaskId] = e.Step < 0 ? TimelineLayout.LabelWidth : xe;
                    phase[e.TaskId] = Phase.Running;
                    break;
                case LabEventKind.Step when layout.TryGetLane(e.TaskId, out int lane):
                    {
                        var ph = phase.GetValueOrDefault(e.TaskId);
                        svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"step {ph}\" x=\"{x:0.##}\" y=\"{TimelineLayout.LaneY(lane) + 6}\" width=\"{Math.Max(0.75, w - 0.25):0.##}\" height=\"{LH - 13}\"><title>step {e.Step}: {Esc(e.Text)} ({ph}) at {Ms(e.Time)}</title></rect>");
                        break;
                    }
                case LabEventKind.TimerFired:
                    svg.Append(CultureInfo.InvariantCulture, $"<circle class=\"timer\" cx=\"{x + w / 2:0.##}\" cy=\"{TimelineLayout.LaneY(layout.ClockLane) + LH / 2:0.#}\" r=\"3\"><title>step {e.Step}: timer due {Ms(TimeSpan.FromTicks(e.Aux))} fired</title></circle>");
                    break;
                case LabEventKind.CancelRequested:
                    if (phase.GetValueOrDefault(e.TaskId) == Phase.Running)
                    {
                        Segment(e.TaskId, xe);
                        phase[e.TaskId] = Phase.CancelRequested;
                    }
                    TimeMark(marks, layout, e, xe, "cancel", $"cancel requested: {(CancelKind)e.Code}{(e.Text is null ? "" : " — " + e.Text)}");
                    break;
                case LabEventKind.CancelAcknowledged:
                    Segment(e.TaskId, x);
                    phase[e.TaskId] = Phase.Cancelling;
                    TimeMark(marks, layout, e, x, "ack", $"cancel acknowledged ({(CancelKind)e.Code}): draining");
                    break;
                case LabEventKind.ChaosCancel:
                    TimeMark(marks, layout, e, x, "chaos", "chaos: spurious cancel");
                    break;
                case LabEventKind.Completed when layout.TryGetLane(e.TaskId, out int lane):
                    {
                        Segment(e.TaskId, xe);
                        segStart.Remove(e.TaskId);
                        var kind = (OutcomeKind)e.Code;
                        marks.Append(CultureInfo.InvariantCulture, $"<rect class=\"done {kind}\" x=\"{xe:0.##}\" y=\"{TimelineLayout.LaneY(lane) + 2}\" width=\"4\" height=\"{LH - 4}\"><title>step {e.Step} at {Ms(e.Time)}: completed {kind}</title></rect>");
                        break;
                    }
                case LabEventKind.Obligation:
                    {
                        var state = (ObligationState)e.Code;
                        if (state == ObligationState.Reserved) { open[e.ObjectId] = (e.TaskId, x, e.Text); break; }
                        if (!open.Remove(e.ObjectId, out var o)) o = (e.TaskId, x, e.Text);
                        ObligationBar(svg, layout, o.Task, o.X, Math.Max(xe, o.X + 1), state, o.Name ?? e.Text, e.ObjectId);
                        break;
                    }
                case LabEventKind.Failure:
                    {
                        double xf = e.Step >= 0 && e.Step < layout.Steps ? x + w / 2 : layout.StepX(e.Step);
                        failureMarks.Append(CultureInfo.InvariantCulture, $"<line class=\"failure\" x1=\"{xf:0.##}\" y1=\"{TimelineLayout.Top - 6}\" x2=\"{xf:0.##}\" y2=\"{bottom:0.#}\"><title>{Esc(e.Text)} at step {e.Step}, {Ms(e.Time)}</title></line>");
                        failureMarks.Append(CultureInfo.InvariantCulture, $"<text class=\"failure-label\" x=\"{xf + 3:0.#}\" y=\"{TimelineLayout.Top - 24}\">✖ {Esc(e.Text)} @ step {e.Step}, {Ms(e.Time)}</text>");
                        break;
                    }
            }
        }
        foreach (var task in segStart.Keys.ToList()) Segment(task, layout.EndX);
        foreach (var (id, o) in open) ObligationBar(svg, layout, o.Task, o.X, Math.Max(layout.EndX, o.X + 1), ObligationState.Reserved, o.Name, id);
        return svg.Append(marks).Append(failureMarks).ToString();
    }

    private static void ObligationBar(StringBuilder svg, TimelineLayout layout, long task, double from, double to, ObligationState state, string? name, long id)
    {
        if (!layout.TryGetLane(task, out int lane)) return;
        string what = state == ObligationState.Reserved ? "still reserved at the end of the trace" : state.ToString();
        svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"ob {state}\" x=\"{from:0.##}\" y=\"{TimelineLayout.LaneY(lane) + TimelineLayout.LaneHeight - 6}\" width=\"{to - from:0.##}\" height=\"4\"><title>obligation {id} '{Esc(name)}': reserved → {what}</title></rect>");
    }

    private static void TimeMark(StringBuilder svg, TimelineLayout layout, in LabEvent e, double x, string cls, string what)
    {
        if (!layout.TryGetLane(e.TaskId, out int lane)) return;
        double y = TimelineLayout.LaneY(lane);
        svg.Append(CultureInfo.InvariantCulture, $"<polygon class=\"{cls}\" points=\"{x - 4:0.#},{y:0.#} {x + 4:0.#},{y:0.#} {x:0.#},{y + 6:0.#}\"><title>step {e.Step} at {Ms(e.Time)}: {Esc(what)}</title></polygon>");
    }

    private static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + " ms";

    /// <summary>One column per step (the view before virtual time; a toggle on the page).</summary>
    private static (string Svg, double Width, double Height) StepView(LabTrace trace, int steps)
    {
        var events = trace.Events;
        double col = steps <= 100 ? 14 : Math.Max(2, 1400.0 / steps);
        var lanes = new List<long>();
        var laneOf = new Dictionary<long, int>();
        foreach (var e in events)
        {
            if (e.Kind == LabEventKind.Spawned && !laneOf.ContainsKey(e.TaskId))
            {
                laneOf[e.TaskId] = lanes.Count;
                lanes.Add(e.TaskId);
            }
        }
        int clockLane = lanes.Count;
        double width = LabelWidth + steps * col + 320;
        double height = Top + (lanes.Count + 1) * LaneHeight + 40;

        var svg = new StringBuilder();
        var phase = new Dictionary<long, Phase>();
        var lastStep = new Dictionary<long, int>();
        var waitWhat = new Dictionary<long, string>();
        TimeSpan lastTime = TimeSpan.MinValue;
        foreach (var e in events)
        {
            if (e.Step >= steps && e.Kind is not LabEventKind.Failure) continue;
            double x = LabelWidth + Math.Max(0, e.Step) * col;
            switch (e.Kind)
            {
                case LabEventKind.Step when laneOf.TryGetValue(e.TaskId, out int lane):
                    {
                        double y = Top + lane * LaneHeight;
                        if (lastStep.TryGetValue(e.TaskId, out int prev) && e.Step - prev > 1)
                        {
                            double x0 = LabelWidth + (prev + 1) * col;
                            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"wait\" x1=\"{x0:0.#}\" y1=\"{y + LaneHeight / 2.0:0.#}\" x2=\"{x:0.#}\" y2=\"{y + LaneHeight / 2.0:0.#}\"><title>waiting{(waitWhat.TryGetValue(e.TaskId, out var w) ? " (" + Esc(w) + ")" : "")}: steps {prev + 1}–{e.Step - 1}</title></line>");
                        }
                        var ph = phase.GetValueOrDefault(e.TaskId);
                        svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"step {ph}\" x=\"{x:0.#}\" y=\"{y + 4}\" width=\"{Math.Max(1, col - 1):0.#}\" height=\"{LaneHeight - 8}\"><title>step {e.Step}: {Esc(e.Text)} ({ph}) at {e.Time.TotalMilliseconds} ms</title></rect>");
                        lastStep[e.TaskId] = e.Step;
                        waitWhat.Remove(e.TaskId);
                        break;
                    }
                case LabEventKind.TimerFired:
                    {
                        double y = Top + clockLane * LaneHeight;
                        svg.Append(CultureInfo.InvariantCulture, $"<circle class=\"timer\" cx=\"{x + col / 2:0.#}\" cy=\"{y + LaneHeight / 2.0:0.#}\" r=\"{Math.Max(2, Math.Min(5, col / 2)):0.#}\"><title>step {e.Step}: timer due {TimeSpan.FromTicks(e.Aux).TotalMilliseconds} ms fired</title></circle>");
                        break;
                    }
                case LabEventKind.Wait:
                    waitWhat[e.TaskId] = e.Text ?? "wait";
                    break;
                case LabEventKind.CancelRequested:
                    if (phase.GetValueOrDefault(e.TaskId) == Phase.Running) phase[e.TaskId] = Phase.CancelRequested;
                    Mark(svg, laneOf, e, x, col, "cancel", $"cancel requested: {(CancelKind)e.Code}{(e.Text is null ? "" : " — " + e.Text)}");
                    break;
                case LabEventKind.CancelAcknowledged:
                    phase[e.TaskId] = Phase.Cancelling;
                    Mark(svg, laneOf, e, x, col, "ack", $"cancel acknowledged ({(CancelKind)e.Code}): draining");
                    break;
                case LabEventKind.Completed when laneOf.TryGetValue(e.TaskId, out int lane):
                    {
                        double y = Top + lane * LaneHeight;
                        var kind = (OutcomeKind)e.Code;
                        svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"done {kind}\" x=\"{x + col:0.#}\" y=\"{y + 2}\" width=\"4\" height=\"{LaneHeight - 4}\"><title>step {e.Step}: completed {kind}</title></rect>");
                        break;
                    }
                case LabEventKind.Obligation:
                    Mark(svg, laneOf, e, x, col, "obligation", $"obligation {e.ObjectId} '{e.Text}' {(ObligationState)e.Code}");
                    break;
                case LabEventKind.ChaosCancel:
                    Mark(svg, laneOf, e, x, col, "chaos", "chaos: spurious cancel");
                    break;
                case LabEventKind.Failure:
                    {
                        double xf = LabelWidth + Math.Min(Math.Max(0, e.Step), steps) * col;
                        svg.Append(CultureInfo.InvariantCulture, $"<line class=\"failure\" x1=\"{xf:0.#}\" y1=\"{Top - 14}\" x2=\"{xf:0.#}\" y2=\"{height - 30}\"><title>{Esc(e.Text)} at step {e.Step}</title></line>");
                        svg.Append(CultureInfo.InvariantCulture, $"<text class=\"failure-label\" x=\"{xf + 3:0.#}\" y=\"{Top - 16}\">✖ {Esc(e.Text)} @ step {e.Step}</text>");
                        break;
                    }
            }
            if (e.Kind is LabEventKind.Step or LabEventKind.TimerFired && e.Time != lastTime)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<line class=\"tick\" x1=\"{x:0.#}\" y1=\"{Top - 8}\" x2=\"{x:0.#}\" y2=\"{height - 30}\"/><text class=\"time\" x=\"{x + 2:0.#}\" y=\"{Top - 2}\">{e.Time.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms</text>");
                lastTime = e.Time;
            }
        }

        var labels = new StringBuilder();
        for (int i = 0; i <= lanes.Count; i++)
        {
            double y = Top + i * LaneHeight;
            string name = i == clockLane ? "virtual clock" : $"{lanes[i]} · {trace.NameOf(lanes[i]) ?? "?"}";
            labels.Append(CultureInfo.InvariantCulture, $"<rect class=\"lane{(i % 2)}\" x=\"0\" y=\"{y}\" width=\"{width:0.#}\" height=\"{LaneHeight}\"/><text class=\"label\" x=\"8\" y=\"{y + LaneHeight - 8}\">{Esc(name)}</text>");
        }

        return (labels.Append(svg).ToString(), width, height);
    }

    private static void Mark(StringBuilder svg, Dictionary<long, int> laneOf, in LabEvent e, double x, double col, string cls, string what)
    {
        if (!laneOf.TryGetValue(e.TaskId, out int lane)) return;
        double y = Top + lane * LaneHeight;
        double cx = x + col / 2;
        svg.Append(CultureInfo.InvariantCulture, $"<polygon class=\"{cls}\" points=\"{cx - 4:0.#},{y:0.#} {cx + 4:0.#},{y:0.#} {cx:0.#},{y + 6:0.#}\"><title>step {e.Step}: {Esc(what)}</title></polygon>");
    }

    private static string Esc(string? s) => WebUtility.HtmlEncode(s ?? "");
}
