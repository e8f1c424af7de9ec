using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Asupersync.Http.Tests;

/// <summary>
/// examples/Server as a real process (issue 9): SIGINT drains — in-flight requests finish, the one longer than the
/// drain budget is cancelled, a signal delivered twice is one request, the summary counts what clients saw; and a
/// file-descriptor limit that makes accept fail does not stop the server.
/// </summary>
public class ExampleServerShutdownTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Cur;
        public ulong Max;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int prlimit(int pid, int resource, ref RLimit newLimit, out RLimit oldLimit);

    [DllImport("libc", EntryPoint = "prlimit", SetLastError = true)]
    private static extern int prlimitGet(int pid, int resource, IntPtr newLimit, out RLimit oldLimit);

    private const int RlimitNofile = 7; // Linux

    /// <summary>
    /// Descriptors left free when the server's limit is lowered: room for a few dozen connections, and — once they
    /// are closed again — for the listener's reserve and as much again, which it needs free before accepting again.
    /// </summary>
    private const int Headroom = 48;

    private sealed class ServerProcess : IDisposable
    {
        internal readonly Process Proc;
        internal readonly IPEndPoint EndPoint;
        private readonly StringBuilder _out, _err;

        private ServerProcess(Process p, IPEndPoint ep, StringBuilder o, StringBuilder e)
        {
            Proc = p;
            EndPoint = ep;
            _out = o;
            _err = e;
        }

        internal string Stdout { get { lock (_out) return _out.ToString(); } }

        internal string Stderr { get { lock (_err) return _err.ToString(); } }

        internal static async Task<ServerProcess> StartAsync()
        {
            var dll = ExampleServerEndToEndTests.FindServerDll();
            var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
            var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(dll);
            psi.ArgumentList.Add("127.0.0.1:0");
            var proc = Process.Start(psi)!;
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            var listening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
            proc.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (stdout) stdout.AppendLine(e.Data);
                var m = Regex.Match(e.Data, @"listening on http://([0-9.]+:[0-9]+)/");
                if (m.Success) listening.TrySetResult(IPEndPoint.Parse(m.Groups[1].Value));
            };
            proc.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
            proc.BeginOutputReadLine();
            proc.BeginErrorReadLine();
            try
            {
                return new ServerProcess(proc, await listening.Task.WaitAsync(Bound), stdout, stderr);
            }
            catch
            {
                proc.Kill(entireProcessTree: true);
                proc.Dispose();
                throw;
            }
        }

        /// <summary>Completes when a line of stderr matches <paramref name="pattern"/> (polled; <see cref="Bound"/> is the hang guard).</summary>
        internal async Task<string> StderrLineAsync(string pattern)
        {
            var re = new Regex(pattern);
            for (int i = 0; i < 1200; i++)
            {
                var m = re.Match(Stderr);
                if (m.Success) return m.Value;
                if (Proc.HasExited && i > 0 && !re.IsMatch(Stderr)) throw new InvalidOperationException($"server exited ({Proc.ExitCode}) before stderr showed /{pattern}/:\n{Stderr}");
                await Task.Delay(50);
            }
            throw new TimeoutException($"stderr never showed /{pattern}/:\n{Stderr}");
        }

        internal async Task<int> WaitExitAsync()
        {
            await Proc.WaitForExitAsync().WaitAsync(Bound);
            Proc.WaitForExit(); // flush redirected output
            return Proc.ExitCode;
        }

        public void Dispose()
        {
            if (!Proc.HasExited) Proc.Kill(entireProcessTree: true);
            Proc.Dispose();
        }
    }

    /// <summary>Opens a connection and sends one request; the response is read by <see cref="ReadResponseAsync"/>.</summary>
    private static async Task<Socket> SendAsync(IPEndPoint ep, string target, bool close = true)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(ep).WaitAsync(Bound);
        await s.SendAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: x\r\n{(close ? "Connection: close\r\n" : "")}\r\n"));
        return s;
    }

    /// <summary>Reads one response head and body (Content-Length), or until the close; status 0 when closed without one.</summary>
    private static async Task<(int Status, string Text)> ReadResponseAsync(Socket s)
    {
        var ms = new MemoryStream();
        var buf = new byte[4096];
        using var cts = new CancellationTokenSource(Bound);
        try
        {
            while (true)
            {
                var text = Encoding.Latin1.GetString(ms.ToArray());
                int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end >= 0)
                {
                    var m = Regex.Match(text, "Content-Length: ([0-9]+)", RegexOptions.IgnoreCase);
                    if (m.Success && text.Length >= end + 4 + int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)) break;
                }
                int n = await s.ReceiveAsync(buf, SocketFlags.None, cts.Token);
                if (n == 0) break;
                ms.Write(buf, 0, n);
            }
        }
        catch (SocketException)
        {
            // reset: whatever arrived before it is the answer
        }
        var all = Encoding.Latin1.GetString(ms.ToArray());
        return (all.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(all.AsSpan(9, 3), CultureInfo.InvariantCulture) : 0, all);
    }

    private static int Signal => ExampleServerEndToEndTests.SigintIgnoredHere() ? 15 : 2; // SIGTERM when SIGINT is ignored (started in the background)

    /// <summary>
    /// Three requests in flight when the signal arrives: one fast, one slower but within the drain budget (5 s, of
    /// which the last second is the cancel grace), one longer than it. The first two get their 200 (with
    /// <c>Connection: close</c>), the third is cancelled within the budget (503), the summary counts every response,
    /// and the exit code is 0 — also when the signal is delivered twice within microseconds (<c>timeout -s INT</c>).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Sigint_DrainsInFlightRequests_AndExitsZero(int signals)
    {
        if (!OperatingSystem.IsLinux()) return; // kill(2) and the example's signal handling
        using var server = await ServerProcess.StartAsync();
        var ep = server.EndPoint;
        using var slow = await SendAsync(ep, "/sleep?ms=3000");
        using var forever = await SendAsync(ep, "/sleep?ms=60000");
        using var fast = await SendAsync(ep, "/sleep?ms=1500");
        // A request answered after these were sent: by then the server has read them (they are in flight).
        using (var sync = await SendAsync(ep, "/"))
        {
            Assert.Equal(200, (await ReadResponseAsync(sync)).Status);
        }
        for (int i = 0; i < signals; i++) Assert.Equal(0, kill(server.Proc.Id, Signal));

        var fastR = await ReadResponseAsync(fast);
        var slowR = await ReadResponseAsync(slow);
        var foreverR = await ReadResponseAsync(forever);
        int code = await server.WaitExitAsync();
        var output = server.Stdout;
        var detail = $"\nstdout:\n{output}\nstderr:\n{server.Stderr}\nfast: {fastR.Text}\nslow: {slowR.Text}\nforever: {foreverR.Text}";
        Assert.True(code == 0, $"exit code {code}" + detail);
        Assert.True(fastR.Status == 200 && fastR.Text.Contains("slept", StringComparison.Ordinal), "fast" + detail);
        Assert.True(slowR.Status == 200 && slowR.Text.Contains("slept", StringComparison.Ordinal), "slow" + detail);
        Assert.Contains("Connection: close", slowR.Text, StringComparison.Ordinal);
        Assert.True(foreverR.Status == 503, "the request longer than the drain budget is cancelled" + detail);
        var summary = Regex.Match(output, @"stopped: (\d+) responses \(([^)]*)\); connections (\d+) served, (\d+) drained, (\d+) cancelled");
        Assert.True(summary.Success, detail);
        Assert.True(summary.Groups[1].Value == "4", "four responses written: the sync one and all three in flight" + detail);
        Assert.Equal("2xx 3, 5xx 1", summary.Groups[2].Value);
    }

    /// <summary>
    /// Issue 9, item 8: the server's descriptor limit is lowered (prlimit on the running process) to what it has open
    /// plus <see cref="Headroom"/>, and connections are opened until accepting fails. The failure is reported on
    /// stderr (an AcceptFailed diagnostic naming the error) and retried; the process stays up; a keep-alive
    /// connection opened before keeps being answered; the connection that arrived while accept was failing waits in
    /// the backlog and is not lost; once connections close and descriptors are free again, that connection and a
    /// new one are served, the recovery is reported, and SIGINT still stops the server with exit code 0.
    /// </summary>
    [Fact]
    public async Task FdLimit_AcceptFails_ServerReportsIt_KeepsServing_AndServesNewConnectionsOnceDescriptorsAreFree()
    {
        if (!OperatingSystem.IsLinux()) return; // prlimit(2), /proc/PID/fd
        using var server = await ServerProcess.StartAsync();
        var ep = server.EndPoint;
        int pid = server.Proc.Id;
        var sockets = new List<Socket>();
        try
        {
            // A keep-alive connection served before the limit comes down (it also warms the server up, so that what
            // it has open is what it keeps open).
            var kept = await SendAsync(ep, "/", close: false);
            sockets.Add(kept);
            Assert.Equal(200, (await ReadResponseAsync(kept)).Status);

            Assert.Equal(0, prlimitGet(pid, RlimitNofile, IntPtr.Zero, out var before));
            int open = Directory.GetFiles($"/proc/{pid}/fd").Length;
            var lowered = new RLimit { Cur = (ulong)(open + Headroom), Max = before.Max };
            Assert.True(lowered.Cur < before.Cur, $"the limit {before.Cur} is already below {lowered.Cur}");
            Assert.Equal(0, prlimit(pid, RlimitNofile, ref lowered, out _));

            // Open connections (one request each, kept alive) until accept fails: each is answered, or the failure is
            // reported while it waits in the backlog. Bounded: the limit leaves room for fewer than Headroom more.
            var failed = server.StderrLineAsync(@"\[AcceptFailed\] accept on \S+ failed \([^\n]*");
            (Socket Socket, Task<(int Status, string Text)> Response)? waiting = null;
            for (int i = 0; i < Headroom + 32 && waiting is null; i++)
            {
                var s = await SendAsync(ep, "/", close: false);
                sockets.Add(s);
                var response = ReadResponseAsync(s);
                await Task.WhenAny(response, failed);
                if (response.IsCompleted) Assert.Equal(200, (await response).Status);
                else waiting = (s, response);
            }
            var detail = () => $"\nstdout:\n{server.Stdout}\nstderr:\n{server.Stderr}";
            Assert.True(waiting is not null, "accept never failed" + detail());
            var report = await failed;
            Assert.Contains(ep.ToString(), report, StringComparison.Ordinal);
            Assert.Contains("TooManyOpenSockets", report, StringComparison.Ordinal);
            Assert.False(server.Proc.HasExited, "the server died at its descriptor limit" + detail());

            // Existing connections are still served while accept fails.
            await kept.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
            var again = await ReadResponseAsync(kept);
            Assert.True(again.Status == 200, "the kept-alive connection, while accept fails: " + again.Text + detail());

            // Free descriptors: close every connection but the kept one and the one waiting in the backlog. The waiting
            // one is then accepted and answered, and so is a new one.
            foreach (var s in sockets.Where(s => s != kept && s != waiting.Value.Socket).ToList())
            {
                s.Dispose();
                sockets.Remove(s);
            }
            var late = await waiting.Value.Response;
            Assert.True(late.Status == 200, "the connection that waited in the backlog: " + late.Text + detail());
            var fresh = await SendAsync(ep, "/");
            sockets.Add(fresh);
            Assert.Equal(200, (await ReadResponseAsync(fresh)).Status);
            await server.StderrLineAsync(@"\[AcceptFailed\] accept on \S+ recovered after \d+ failure");

            Assert.Equal(0, kill(pid, Signal));
            int code = await server.WaitExitAsync();
            Assert.True(code == 0, $"exit code {code}" + detail());
            Assert.Matches(@"stopped: \d+ responses \(2xx \d+\)", server.Stdout);
        }
        finally
        {
            foreach (var s in sockets) s.Dispose();
        }
    }

    /// <summary>
    /// Issue 9, item 8: a listener that fails for good (its socket shut down from outside: accept fails with EINVAL,
    /// not a transient error) stops the server: the process exits by itself, non-zero, with the error on stderr, and
    /// the connection it was serving is ended with it.
    /// </summary>
    [Fact]
    public async Task ListenerFailingForGood_StopsTheServer_NonZeroExit_WithTheErrorOnStderr()
    {
        if (!ListenerSockets.Supported()) return;
        using var server = await ServerProcess.StartAsync();
        using var kept = await SendAsync(server.EndPoint, "/", close: false);
        Assert.Equal(200, (await ReadResponseAsync(kept)).Status);

        ListenerSockets.Break(server.Proc.Id, server.EndPoint.Port);

        int code = await server.WaitExitAsync();
        var detail = $"\nstdout:\n{server.Stdout}\nstderr:\n{server.Stderr}";
        Assert.True(code != 0, "a dead listener must not exit 0" + detail);
        Assert.Matches(@"server failed: \w+\(IOException: [^\n]*InvalidArgument", server.Stderr);
        Assert.Contains("stopped: ", server.Stdout, StringComparison.Ordinal);
    }
}
