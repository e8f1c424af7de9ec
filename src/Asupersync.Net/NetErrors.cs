using System.Net.Sockets;

namespace Asupersync.Net;

/// <summary>Maps transport failures to the exceptions the public API documents.</summary>
internal static class NetErrors
{
    /// <summary>
    /// Socket failures surface as <see cref="IOException"/> carrying the <see cref="SocketException"/> (as
    /// <c>NetworkStream</c> does), so callers catch one type for "the connection broke".
    /// </summary>
    internal static Exception Map(Exception e) => e switch
    {
        SocketException se => new IOException($"Connection error: {se.SocketErrorCode} ({se.Message})", se),
        ObjectDisposedException => new IOException("The connection was closed locally.", e),
        _ => e,
    };

    internal static IOException Reset() => new("Connection reset by peer.", new SocketException((int)SocketError.ConnectionReset));

    internal static IOException ClosedLocally() => new("The connection was closed locally.", new SocketException((int)SocketError.OperationAborted));
}
