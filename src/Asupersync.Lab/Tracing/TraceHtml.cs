using System.Globalization;
using System.Net;
using System.Text;

namespace Asupersync.Lab;

/// <summary>
/// Renders a trace as a self-contained HTML page (inline CSS and SVG, no scripts, no external resources): one lane
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
        var events = trace.Events;
        int steps = Math.Min(trace.Decisions.Count, MaxSteps);
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

        var failures = new StringBuilder();
        foreach (var f in trace.Failures)
            failures.Append("<li><b>").Append(Esc(f.Oracle)).Append("</b> at step ").Append(f.Step).Append(": ").Append(Esc(f.Message)).Append("</li>");

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
            .Append(Esc(title ?? "Asupersync Lab trace")).Append("</title><style>")
            .Append("body{font:13px system-ui,sans-serif;margin:16px;color:#222}h1{font-size:18px;margin:0 0 4px}.meta{color:#555;margin-bottom:8px}")
            .Append(".legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px}")
            .Append(".scroll{overflow-x:auto;border:1px solid #ddd}.lane0{fill:#fafafa}.lane1{fill:#f0f2f5}.label{font-size:12px;fill:#333}")
            .Append(".step.Running{fill:#3b82f6}.step.CancelRequested{fill:#f59e0b}.step.Cancelling{fill:#dc2626}")
            .Append(".wait{stroke:#9ca3af;stroke-width:2;stroke-dasharray:3 2}.timer{fill:#10b981}")
            .Append(".done.Ok{fill:#16a34a}.done.Err{fill:#9333ea}.done.Cancelled{fill:#f97316}.done.Panicked{fill:#000}")
            .Append(".cancel{fill:#f59e0b}.ack{fill:#dc2626}.obligation{fill:#0ea5e9}.chaos{fill:#db2777}")
            .Append(".tick{stroke:#d1d5db;stroke-width:1}.time{font-size:10px;fill:#6b7280}")
            .Append(".failure{stroke:#e11d48;stroke-width:2}.failure-label{font-size:11px;fill:#e11d48;font-weight:bold}")
            .Append(".failures{color:#b91c1c}</style></head><body>");
        html.Append("<h1>").Append(Esc(title ?? trace.ProgramName ?? "Asupersync Lab trace")).Append("</h1>");
        html.Append("<div class=\"meta\">seed ").Append(trace.Seed).Append(" · strategy ").Append(Esc(trace.Strategy))
            .Append(" · ").Append(trace.Decisions.Count).Append(" steps · ").Append(lanes.Count).Append(" tasks · hash ").Append(trace.Hash.ToString("x16", CultureInfo.InvariantCulture));
        if (trace.Decisions.Count > steps) html.Append(" · showing the first ").Append(steps).Append(" steps");
        html.Append("</div>");
        html.Append("<div class=\"legend\"><span><i class=\"sw\" style=\"background:#3b82f6\"></i>running</span><span><i class=\"sw\" style=\"background:#f59e0b\"></i>cancel requested</span>")
            .Append("<span><i class=\"sw\" style=\"background:#dc2626\"></i>cancelling (draining)</span><span><i class=\"sw\" style=\"background:#10b981\"></i>timer fired</span>")
            .Append("<span><i class=\"sw\" style=\"background:#16a34a\"></i>Ok</span><span><i class=\"sw\" style=\"background:#f97316\"></i>Cancelled</span>")
            .Append("<span><i class=\"sw\" style=\"background:#9333ea\"></i>Err</span><span><i class=\"sw\" style=\"background:#000\"></i>Panicked</span>")
            .Append("<span><i class=\"sw\" style=\"background:#0ea5e9\"></i>obligation</span><span><i class=\"sw\" style=\"background:#e11d48\"></i>failure</span></div>");
        if (failures.Length > 0) html.Append("<ul class=\"failures\">").Append(failures).Append("</ul>");
        html.Append(CultureInfo.InvariantCulture, $"<div class=\"scroll\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:0.#}\" height=\"{height:0.#}\">")
            .Append(labels).Append(svg).Append("</svg></div></body></html>");
        return html.ToString();
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
