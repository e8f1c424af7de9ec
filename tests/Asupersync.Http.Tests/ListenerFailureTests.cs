using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Asupersync.Http.Tests;

/// <summary>
/// Breaks a listening socket for good, from outside the code that owns it, as a real fault would: the socket of the
/// listener on a port (found through <c>/proc/net/tcp</c> and <c>/proc/PID/fd</c>) is fetched from its process with
/// <c>pidfd_getfd</c> and shut down, so the listener's pending accept fails with EINVAL — not a transient error.
/// </summary>
internal static class ListenerSockets
{
    [DllImport("libc", SetLastError = true)]
    private static extern int pidfd_open(int pid, uint flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int pidfd_getfd(int pidfd, int targetfd, uint flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int shutdown(int fd, int how);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    /// <summary>Can this machine do it (Linux with pidfd_getfd, kernel 5.6+ and glibc 2.36+)?</summary>
    internal static bool Supported()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            int fd = pidfd_open(Environment.ProcessId, 0);
            if (fd < 0) return false;
            int dup = pidfd_getfd(fd, 0, 0);
            if (dup >= 0) close(dup);
            close(fd);
            return dup >= 0;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Shuts down the socket listening on 127.0.0.1:<paramref name="port"/> in process <paramref name="pid"/>.</summary>
    internal static void Break(int pid, int port)
    {
        var inode = File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f[3] == "0A" && Convert.ToInt32(f[1].Split(':')[1], 16) == port)
            .Select(f => f[9]).Single();
        int target = Directory.GetFiles($"/proc/{pid}/fd")
            .Where(p => (new FileInfo(p).LinkTarget ?? "") == $"socket:[{inode}]")
            .Select(p => int.Parse(Path.GetFileName(p), System.Globalization.CultureInfo.InvariantCulture)).Single();
        int pidfd = pidfd_open(pid, 0);
        Assert.True(pidfd >= 0, $"pidfd_open: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            int fd = pidfd_getfd(pidfd, target, 0);
            Assert.True(fd >= 0, $"pidfd_getfd: errno {Marshal.GetLastPInvokeError()}");
            Assert.Equal(0, shutdown(fd, 2)); // SHUT_RDWR: the listener's accept now fails with EINVAL
            close(fd);
        }
        finally
        {
            close(pidfd);
        }
    }
}

/// <summary>
/// Issue 9, item 8, the other half: a listener that fails for good (not a transient accept error) fails the server —
/// <see cref="HttpServer.ServeAsync"/> rethrows it, every connection is ended, nothing keeps running half-alive.
/// </summary>
public class ListenerFailureTests
{
    [Fact]
    public async Task ServeAsync_ListenerFailingForGood_FailsTheServingTask_AndEndsEveryConnection()
    {
        if (!ListenerSockets.Supported()) return;
        await using var f = await ServerFixture.StartAsync();
        using var kept = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await kept.ConnectAsync(f.EndPoint).WaitAsync(ServerFixture.Bound);
        await kept.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), SocketFlags.None);
        var buf = new byte[4096];
        int n = await kept.ReceiveAsync(buf, SocketFlags.None).WaitAsync(ServerFixture.Bound);
        Assert.StartsWith("HTTP/1.1 200", System.Text.Encoding.Latin1.GetString(buf, 0, n), StringComparison.Ordinal);
        for (int i = 0; i < 600 && f.Server.ActiveConnections != 1; i++) await Task.Delay(50);

        ListenerSockets.Break(Environment.ProcessId, f.EndPoint.Port);

        var o = await f.Root.WaitAsync(ServerFixture.Bound);
        Assert.False(o.IsOk, o.ToString());
        Assert.Contains("IOException", o.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpServerPhase.Stopped, f.Server.Phase);
        Assert.Equal(0, f.Server.ActiveConnections);
        // The kept-alive connection was ended with the server (closed or reset), not left open.
        try
        {
            while ((n = await kept.ReceiveAsync(buf, SocketFlags.None).WaitAsync(ServerFixture.Bound)) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // reset: ended too
        }
    }
}
