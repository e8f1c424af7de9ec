using System.Xml.Linq;
using Asupersync.Lab;

namespace Asupersync.Lab.Tests;

public class TraceHtmlTests
{
    [Fact]
    public void Html_IsSelfContained_WithLanesPhasesAndFailureMark()
    {
        var r = LabRuntime.Run(3, async cx =>
        {
            var sleeper = cx.Spawn("sleeper", async cx =>
            {
                try { await cx.SleepAsync(TimeSpan.FromSeconds(10)); }
                finally { await cx.YieldAsync(); }
            });
            var leaky = cx.Spawn("leaky", async cx => { cx.Reserve(ObligationKind.Ack, "ack"); await cx.SleepAsync(TimeSpan.FromSeconds(1)); });
            await leaky.JoinAsync(cx);
            sleeper.Cancel();
            await sleeper.JoinAsync(cx);
        });
        Assert.Contains(r.OracleFailures, f => f.Oracle == LabOracles.ObligationLeak);
        var html = r.Trace.ToHtml("leak demo");

        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal));
        Assert.Contains("sleeper", html);
        Assert.Contains("leaky", html);
        Assert.Contains("step Running", html);
        Assert.Contains("step Cancelling", html);      // the sleeper's cleanup step is drawn in the draining colour
        Assert.Contains("class=\"failure\"", html);
        Assert.Contains("ObligationLeak", html);
        Assert.Contains("1000 ms", html);              // virtual time label where the clock advanced

        // The SVG part is well-formed XML.
        int s = html.IndexOf("<svg", StringComparison.Ordinal), e = html.IndexOf("</svg>", StringComparison.Ordinal) + 6;
        XDocument.Parse(html[s..e]);
    }
}
