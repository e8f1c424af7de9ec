using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Asupersync.Net.Sockets;

/// <summary>
/// A listening socket. An accept interrupted by a cancel stays pending and is resumed by the next accept.
/// </summary>
/// <remarks>
/// <b>Out of descriptors:</b> the .NET runtime itself needs free descriptors (it cannot even start a thread-pool
/// thread without one, and fails fast when it cannot), so accepted connections must never take the last ones. The
/// listener holds a reserve of descriptors (on /dev/null); when accept fails with EMFILE/ENFILE it releases the
/// reserve — the runtime keeps working and live connections keep being served — and from then on accepts only
/// after a probe found room for the reserve plus as much again, taking the reserve back then. An accept that takes
/// the <em>last</em> free descriptor does not fail, though, and the next descriptor the process needs (the runtime's,
/// not an accept) would then find none — the .NET runtime fails fast when it cannot start a thread. So no accept may
/// take the last one: after every accept two descriptors are probed (<c>dup</c>, closed at once), and when fewer
/// than two are left the reserve is released there and then; the next accept then waits for the probe, so the one
/// free descriptor left is never taken by the listener.
/// </remarks>
internal sealed class SocketListenerTransport : IListenerTransport
{
    private const int ReserveSize = 16;

    private readonly Socket _socket;
    private Task<Socket>? _pending;
    private int _closed;
    private List<SafeFileHandle>? _reserve = OpenDevNull(ReserveSize);
    private bool _degraded;

    internal SocketListenerTransport(Socket socket)
    {
        _socket = socket;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public async ValueTask<IStreamTransport> AcceptAsync(Cx cx)
    {
        while (true)
        {
            Socket accepted;
            if (_pending is null && _degraded && !Probe())
                throw NetErrors.Map(OutOfDescriptors()); // still no room: the caller backs off
            if (_pending is null)
            {
                ValueTask<Socket> vt;
                try
                {
                    vt = _socket.AcceptAsync(CancellationToken.None);
                }
                catch (Exception e)
                {
                    OnFailure(e);
                    throw NetErrors.Map(e);
                }
                if (vt.IsCompletedSuccessfully)
                {
                    accepted = vt.Result;
                    return Wrap(accepted);
                }
                _pending = vt.AsTask();
            }
            try
            {
                // Interrupted by a cancel: _pending stays set, so the connection it may yet accept is
                // returned by the next AcceptAsync (or disposed by Close) — never lost.
                accepted = await NetWait<Socket>.Start(cx, _pending, null);
                _pending = null;
                return Wrap(accepted);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                _pending = null; // the peer gave up before we accepted it: not the listener's failure
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _pending = null;
                OnFailure(e);
                throw NetErrors.Map(e);
            }
        }
    }

    /// <summary>The failure of an accept refused for want of descriptors (EMFILE: the process is at its limit).</summary>
    private static SocketException OutOfDescriptors() =>
        new((int)SocketError.TooManyOpenSockets, "Too many open files: the process is at its descriptor limit");

    private void OnFailure(Exception e)
    {
        if (e is not SocketException { SocketErrorCode: SocketError.TooManyOpenSockets }) return;
        _degraded = true;
        Release(ref _reserve);
    }

    /// <summary>Degraded: room for the reserve and as much again? Then take the reserve back and accept again.</summary>
    private bool Probe()
    {
        var probe = OpenDevNull(2 * ReserveSize + 1);
        if (probe is null) return false;
        _reserve = probe.GetRange(0, ReserveSize);
        for (int i = ReserveSize; i < probe.Count; i++) probe[i].Dispose();
        _degraded = false;
        return true;
    }

    private static List<SafeFileHandle>? OpenDevNull(int count)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return null;
        var list = new List<SafeFileHandle>(count);
        try
        {
            for (int i = 0; i < count; i++) list.Add(File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read));
            return list;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Release(ref list!);
            return null;
        }
    }

    private static void Release(ref List<SafeFileHandle>? handles)
    {
        if (handles is null) return;
        foreach (var h in handles) h.Dispose();
        handles = null;
    }

    private SocketStreamTransport Wrap(Socket s)
    {
        if (_reserve is not null && !HasFreeDescriptor(s)) OnFailure(OutOfDescriptors());
        s.NoDelay = true;
        return new SocketStreamTransport(s);
    }

    /// <summary>
    /// Are two more descriptors free after <paramref name="s"/> took one — one for the next accept and one that the
    /// next accept must leave to the runtime? (Unix; elsewhere assumed.)
    /// </summary>
    private static bool HasFreeDescriptor(Socket s)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return true;
        int own = (int)s.SafeHandle.DangerousGetHandle();
        int first = Native.dup(own);
        if (first < 0) return false; // EMFILE (or ENFILE): the accept took the last one
        int second = Native.dup(own);
        _ = Native.close(first);
        if (second < 0) return false; // one left: the next accept would take it
        _ = Native.close(second);
        return true;
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int dup(int fd);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int close(int fd);
    }

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        _socket.Dispose();
        Release(ref _reserve);
        var pending = _pending;
        _pending = null;
        // An accept that raced with close and won hands us a socket nobody will see: dispose it.
        pending?.ContinueWith(static t =>
        {
            if (t.Status == TaskStatus.RanToCompletion) t.Result.Dispose();
            else _ = t.Exception;
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
