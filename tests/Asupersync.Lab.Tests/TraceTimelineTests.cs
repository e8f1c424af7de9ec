using System.Diagnostics;
using System.IO.Compression;
using Asupersync.Lab;

namespace Asupersync.Lab.Tests;

/// <summary>
/// The HTML trace's virtual-time view: the layout follows virtual time, and headless Chromium draws the lanes,
/// the cancel phases, the obligation and the failure marker where the trace says.
/// </summary>
public class TraceTimelineTests
{
    private static LabRunResult LeakDemo() => LabRuntime.Run(3, async cx =>
    {
        var sleeper = cx.Spawn("sleeper", async cx =>
        {
            try { await cx.SleepAsync(TimeSpan.FromSeconds(10)); }
            finally { await cx.YieldAsync(); await cx.SleepAsync(TimeSpan.FromMilliseconds(400)); }
        });
        var leaky = cx.Spawn("leaky", async cx => { cx.Reserve(ObligationKind.Ack, "ack"); await cx.SleepAsync(TimeSpan.FromSeconds(1)); });
        await leaky.JoinAsync(cx);
        sleeper.Cancel(Budget.Timeout(TimeSpan.FromSeconds(5)));
        await sleeper.JoinAsync(cx);
    });

    [Fact]
    public void Gaps_AreToScale_AndABurstIsAsWideAsItsSteps()
    {
        var r = LabRuntime.Run(1, async cx =>
        {
            var others = Enumerable.Range(0, 6).Select(i => cx.Spawn("y" + i, async cx => await cx.YieldAsync())).ToList();
            foreach (var o in others) await o.JoinAsync(cx);
            await cx.SleepAsync(TimeSpan.FromMilliseconds(5));
            await cx.SleepAsync(TimeSpan.FromSeconds(5));
        });
        Assert.True(r.Passed, r.Describe());
        var layout = new TimelineLayout(r.Trace, r.Trace.Decisions.Count);
        var instants = layout.Instants;
        var at = instants.Select(i => i.Time).ToList();
        Assert.Equal([TimeSpan.Zero, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(5005)], at);

        // A burst: every step at t = 0 shares one band, as wide as the number of steps in it.
        Assert.True(instants[0].Steps >= 13, $"{instants[0].Steps} steps at t=0");
        Assert.Equal(Math.Min(TimelineLayout.MaxBurstWidth, instants[0].Steps * TimelineLayout.BurstStepWidth), instants[0].Width, 6);
        for (int s = instants[0].FirstStep; s < instants[0].FirstStep + instants[0].Steps; s++)
            Assert.InRange(layout.StepX(s), instants[0].X, instants[0].X + instants[0].Width);

        // Gaps are to scale: 5 s is a thousand times 5 ms.
        double gap1 = instants[1].X - (instants[0].X + instants[0].Width), gap2 = instants[2].X - (instants[1].X + instants[1].Width);
        Assert.Equal(1000, gap2 / gap1, 6);
        Assert.Equal(5 * layout.PixelsPerMs, gap1, 6);
    }

    [Fact]
    public void Html_HasBothViews_TimeFirst_AndTheToggle()
    {
        var r = LeakDemo();
        var html = r.Trace.ToHtml("leak demo");
        Assert.DoesNotContain("<script", html);
        int time = html.IndexOf("time-view", StringComparison.Ordinal), steps = html.IndexOf("step-view\"", StringComparison.Ordinal);
        Assert.True(time > 0 && steps > time, "both views, the virtual-time view first");
        Assert.Contains("id=\"view-time\" checked", html);
        Assert.Contains("for=\"view-steps\"", html);
        Assert.Contains("class=\"ob Leaked\"", html);                 // the obligation, reserve → leak
        Assert.Contains("class=\"life Cancelling\"", html);           // the sleeper's drain
        Assert.Contains("ms per pixel", html);
    }

    [Fact]
    public void Screenshot_ShowsLanesPhasesObligationAndFailure_WhereTheTraceSays()
    {
        var r = LeakDemo();
        Assert.Contains(r.OracleFailures, f => f.Oracle == LabOracles.ObligationLeak);
        var trace = r.Trace;
        var layout = new TimelineLayout(trace, trace.Decisions.Count);
        var dir = Directory.CreateTempSubdirectory("asupersync-timeline-");
        try
        {
            var htmlPath = Path.Combine(dir.FullName, "trace.html");
            var pngPath = Path.Combine(dir.FullName, "shot.png");
            trace.SaveHtml(htmlPath, "leak demo");
            int w = (int)layout.Width + 200, h = (int)layout.Height + 400;
            Screenshot(htmlPath, pngPath, w, h);
            var img = Png.Read(pngPath);

            // The origin of the time view's SVG, from the main task's lane: its life bar (the first lane) starts at the
            // left edge of the time axis (the legend's 12-pixel swatch of the same colour is too short to match).
            var running = Rgb(0x93c5fd);
            (int ox, int oy) = FindRun(img, running, 40);
            ox -= (int)TimelineLayout.LabelWidth;
            oy -= (int)TimelineLayout.LaneY(0) + 1;

            var life = new[] { Rgb(0x93c5fd), Rgb(0xfcd34d), Rgb(0xf87171) };
            var (spawn, done, ack, reserve, leak, failStep) = Facts(trace);
            foreach (var task in layout.Lanes)
            {
                Assert.True(layout.TryGetLane(task, out int lane));
                int y = oy + (int)TimelineLayout.LaneY(lane) + 2;
                double from = spawn[task], to = done[task];
                // Alive from its spawn to its completion: the life bar is there…
                int mid = ox + (int)((from + to) / 2);
                Assert.True(life.Contains(img.At(mid, y)), $"{trace.NameOf(task)}: no life bar at x={mid}, y={y}: {img.At(mid, y):x6}");
                // …and not before the spawn or after the completion.
                if (from - TimelineLayout.LabelWidth > 4) Assert.False(life.Contains(img.At(ox + (int)from - 3, y)), $"{trace.NameOf(task)} drawn before its spawn");
                if (layout.EndX - to > 4) Assert.False(life.Contains(img.At(ox + (int)to + 6, y)), $"{trace.NameOf(task)} drawn after its completion");
            }

            // The sleeper drains from its acknowledgement to its completion: the bar is the draining colour there.
            long sleeper = layout.Lanes.Single(t => trace.NameOf(t) == "sleeper");
            Assert.True(layout.TryGetLane(sleeper, out int sl));
            int sy = oy + (int)TimelineLayout.LaneY(sl) + 2;
            int drainMid = ox + (int)((ack[sleeper] + done[sleeper]) / 2);
            Assert.Equal(Rgb(0xf87171), img.At(drainMid, sy));
            Assert.Equal(Rgb(0x93c5fd), img.At(ox + (int)((spawn[sleeper] + ack[sleeper]) / 2), sy));

            // The leaked obligation runs from the reserve to the leak on the leaky task's lane.
            long leaky = layout.Lanes.Single(t => trace.NameOf(t) == "leaky");
            Assert.True(layout.TryGetLane(leaky, out int ll));
            int obY = oy + (int)(TimelineLayout.LaneY(ll) + TimelineLayout.LaneHeight - 4);
            Assert.Equal(Rgb(0xc026d3), img.At(ox + (int)((reserve + leak) / 2), obY));

            // The failure marker: a vertical line at the failing step, across the lanes.
            double xf = failStep >= 0 && failStep < layout.Steps ? layout.StepX(failStep) + layout.StepWidth(failStep) / 2 : layout.StepX(failStep);
            int column = FindColumn(img, Rgb(0xe11d48), ox + (int)xf - 3, ox + (int)xf + 3, oy + (int)TimelineLayout.Top, oy + (int)TimelineLayout.LaneY(layout.ClockLane));
            Assert.True(column >= 0, $"no failure line near x={ox + xf:0.#}");
        }
        finally { if (Environment.GetEnvironmentVariable("KEEP_SHOT") is { } keep) File.Copy(Path.Combine(dir.FullName, "shot.png"), keep, true); dir.Delete(recursive: true); }
    }

    /// <summary>From the trace alone: where each task is spawned and completes, the sleeper's acknowledgement, the obligation's reserve and leak, the failing step.</summary>
    private static (Dictionary<long, double> Spawn, Dictionary<long, double> Done, Dictionary<long, double> Ack, double Reserve, double Leak, int FailStep) Facts(LabTrace trace)
    {
        var layout = new TimelineLayout(trace, trace.Decisions.Count);
        var spawn = new Dictionary<long, double>();
        var done = new Dictionary<long, double>();
        var ack = new Dictionary<long, double>();
        double reserve = -1, leak = -1;
        int failStep = int.MinValue;
        foreach (var e in trace.Events)
        {
            switch (e.Kind)
            {
                case LabEventKind.Spawned: spawn[e.TaskId] = e.Step < 0 ? TimelineLayout.LabelWidth : layout.StepEndX(e.Step); break;
                case LabEventKind.Completed: done[e.TaskId] = layout.StepEndX(e.Step); break;
                case LabEventKind.CancelAcknowledged: ack.TryAdd(e.TaskId, layout.StepX(e.Step)); break;
                case LabEventKind.Obligation when (ObligationState)e.Code == ObligationState.Reserved: reserve = layout.StepX(e.Step); break;
                case LabEventKind.Obligation when (ObligationState)e.Code == ObligationState.Leaked: leak = layout.StepEndX(e.Step); break;
                case LabEventKind.Failure when failStep == int.MinValue: failStep = e.Step; break;
            }
        }
        Assert.True(reserve >= 0 && leak > reserve, $"reserve {reserve}, leak {leak}");
        Assert.NotEqual(int.MinValue, failStep);
        return (spawn, done, ack, reserve, leak, failStep);
    }

    private static int Rgb(int rgb) => rgb;

    /// <summary>The first pixel (rows top to bottom) that starts a horizontal run of at least <paramref name="length"/> pixels of <paramref name="colour"/>.</summary>
    private static (int X, int Y) FindRun(Png img, int colour, int length)
    {
        for (int y = 0; y < img.Height; y++)
            for (int x = 0; x + length <= img.Width; x++)
            {
                int n = 0;
                while (n < length && img.At(x + n, y) == colour) n++;
                if (n == length) return (x, y);
                x += n;
            }
        throw new Xunit.Sdk.XunitException($"no run of {length} pixels of {colour:x6} on the screenshot");
    }

    /// <summary>A column in [x0, x1] where <paramref name="colour"/> covers at least 90 % of the rows [y0, y1), or -1.</summary>
    private static int FindColumn(Png img, int colour, int x0, int x1, int y0, int y1)
    {
        for (int x = Math.Max(0, x0); x <= Math.Min(img.Width - 1, x1); x++)
        {
            int n = 0;
            for (int y = y0; y < y1; y++) if (img.At(x, y) == colour) n++;
            if (n >= 0.9 * (y1 - y0)) return x;
        }
        return -1;
    }

    private static void Screenshot(string html, string png, int width, int height)
    {
        var psi = new ProcessStartInfo("chromium")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
            "--force-color-profile=srgb", "--no-first-run", "--user-data-dir=" + Path.Combine(Path.GetDirectoryName(png)!, "profile"),
            $"--window-size={width},{height}", "--screenshot=" + png, new Uri(html).AbsoluteUri,
        }) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new Xunit.Sdk.XunitException("chromium is needed for this test (.ci/run installs it: apt-get install -y chromium): " + e.Message);
        }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            _ = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(180_000)) { p.Kill(entireProcessTree: true); throw new Xunit.Sdk.XunitException("chromium did not finish the screenshot"); }
            Assert.True(File.Exists(png), "chromium wrote no screenshot: " + err.Result);
        }
    }

    /// <summary>A minimal PNG reader (8-bit RGB/RGBA, not interlaced: what Chromium writes), pixels as 0xRRGGBB.</summary>
    private sealed class Png
    {
        private readonly int[] _px;
        private Png(int w, int h, int[] px) { Width = w; Height = h; _px = px; }
        public int Width { get; }
        public int Height { get; }
        public int At(int x, int y) => x < 0 || y < 0 || x >= Width || y >= Height ? -1 : _px[y * Width + x];

        public static Png Read(string path)
        {
            var b = File.ReadAllBytes(path);
            int pos = 8, w = 0, h = 0, bpp = 0;
            var idat = new MemoryStream();
            while (pos < b.Length)
            {
                int len = (b[pos] << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3];
                string type = System.Text.Encoding.ASCII.GetString(b, pos + 4, 4);
                if (type == "IHDR")
                {
                    w = (b[pos + 8] << 24) | (b[pos + 9] << 16) | (b[pos + 10] << 8) | b[pos + 11];
                    h = (b[pos + 12] << 24) | (b[pos + 13] << 16) | (b[pos + 14] << 8) | b[pos + 15];
                    Assert.Equal(8, b[pos + 16]);
                    bpp = b[pos + 17] switch { 2 => 3, 6 => 4, var c => throw new NotSupportedException("PNG colour type " + c) };
                    Assert.Equal(0, b[pos + 20]);
                }
                else if (type == "IDAT") idat.Write(b, pos + 8, len);
                else if (type == "IEND") break;
                pos += 12 + len;
            }
            idat.Position = 0;
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            var raw = new MemoryStream();
            z.CopyTo(raw);
            var data = raw.ToArray();
            int stride = w * bpp;
            var prev = new byte[stride];
            var cur = new byte[stride];
            var px = new int[w * h];
            for (int y = 0; y < h; y++)
            {
                int f = data[y * (stride + 1)];
                Array.Copy(data, y * (stride + 1) + 1, cur, 0, stride);
                for (int i = 0; i < stride; i++)
                {
                    int a = i >= bpp ? cur[i - bpp] : 0, up = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
                    cur[i] = (byte)(cur[i] + f switch
                    {
                        0 => 0,
                        1 => a,
                        2 => up,
                        3 => (a + up) / 2,
                        4 => Paeth(a, up, c),
                        _ => throw new NotSupportedException("PNG filter " + f),
                    });
                }
                for (int x = 0; x < w; x++) px[y * w + x] = (cur[x * bpp] << 16) | (cur[x * bpp + 1] << 8) | cur[x * bpp + 2];
                (prev, cur) = (cur, prev);
            }
            return new Png(w, h, px);
        }

        private static int Paeth(int a, int b, int c)
        {
            int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
            return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
    }
}
