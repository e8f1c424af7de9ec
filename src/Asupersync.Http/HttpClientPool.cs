using System.Collections.Concurrent;
using Asupersync.Sync;

namespace Asupersync.Http;

/// <summary>Limits and timeouts of an <see cref="HttpClientPool"/>.</summary>
public sealed class HttpClientPoolOptions
{
    /// <summary>Most connections open to one endpoint at once, in use or idle (default 16); more requests wait.</summary>
    public int MaxConnectionsPerEndPoint { get; init; } = 16;

    /// <summary>How long an idle connection is kept for reuse (default 60 s); older ones are closed, not reused.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Connect timeout (default <see cref="HttpClientConnection.DefaultConnectTimeout"/>).</summary>
    public TimeSpan ConnectTimeout { get; init; } = HttpClientConnection.DefaultConnectTimeout;

    /// <summary>See <see cref="HttpClientConnection.ResponseHeadersTimeout"/> (default 30 s).</summary>
    public TimeSpan ResponseHeadersTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>See <see cref="HttpClientConnection.ResponseBodyTimeout"/> (default 60 s).</summary>
    public TimeSpan ResponseBodyTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>See <see cref="HttpClientConnection.MaxResponseBody"/> (default 16 MiB).</summary>
    public int MaxResponseBody { get; init; } = 16 * 1024 * 1024;
}

/// <summary>
/// An HTTP/1.1 client that pools keep-alive <see cref="HttpClientConnection"/>s per endpoint, with a connection
/// limit per endpoint and default timeouts, owned by the region it was opened in.
/// </summary>
/// <remarks>
/// <para><b>Ownership.</b> <see cref="Open"/> registers the pool's closing as a finalizer of the caller's region:
/// when that region closes (its tasks are done by then), every pooled connection is closed and later sends are
/// refused. <see cref="Dispose"/> closes it earlier.</para>
/// <para><b>Cancel-safety.</b></para>
/// <list type="table">
/// <listheader><term>the cancel lands…</term><description>result</description></listheader>
/// <item><term>while waiting for a connection slot</term><description><see cref="CancelledException"/>; nothing sent, nothing taken.</description></item>
/// <item><term>while connecting</term><description><see cref="CancelledException"/>; the half-open connection is closed; nothing sent.</description></item>
/// <item><term>while sending or waiting for the response</term><description><see cref="CancelledException"/>; the connection is in an unknown state of the protocol, so it is <b>closed</b>, never returned to the pool; the request may have reached the server (retries need idempotency keys).</description></item>
/// <item><term>after the response was read</term><description>the response is returned; the connection goes back to the pool when the server keeps it alive.</description></item>
/// </list>
/// <para>Any failure (I/O error, malformed response, timeout) also closes the connection. A request that fails
/// with an I/O error on a <i>reused</i> connection (the server closed it while idle) is sent once more on a new
/// connection when its method is idempotent (GET, HEAD, PUT, DELETE, OPTIONS, TRACE); never otherwise.</para>
/// </remarks>
public sealed class HttpClientPool : IDisposable
{
    private readonly HttpClientPoolOptions _options;
    private readonly ConcurrentDictionary<string, EndPointPool> _pools = new(StringComparer.Ordinal);
    private long _opened;
    private volatile bool _closed;

    private HttpClientPool(HttpClientPoolOptions options) => _options = options;

    /// <summary>The options.</summary>
    public HttpClientPoolOptions Options => _options;

    /// <summary>How many connections the pool opened so far (a measure of reuse).</summary>
    public long ConnectionsOpened => Interlocked.Read(ref _opened);

    /// <summary>
    /// Opens a pool owned by <paramref name="cx"/>'s region (closed when the region closes).
    /// </summary>
    /// <param name="cx">The context whose region owns the pool.</param>
    /// <param name="options">Limits and timeouts; null for the defaults.</param>
    /// <returns>The pool.</returns>
    /// <exception cref="RegionClosedException">The region is already closing.</exception>
    public static HttpClientPool Open(Cx cx, HttpClientPoolOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        var o = options ?? new HttpClientPoolOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.MaxConnectionsPerEndPoint);
        var pool = new HttpClientPool(o);
        cx.Defer(pool.Dispose, "close HTTP client pool");
        return pool;
    }

    /// <summary>Idle connections kept for <paramref name="endPoint"/> right now.</summary>
    /// <param name="endPoint">The endpoint (<c>"127.0.0.1:8080"</c>).</param>
    /// <returns>The count.</returns>
    public int IdleConnections(string endPoint) => _pools.TryGetValue(endPoint, out var p) ? p.IdleCount : 0;

    /// <summary>Requests to <paramref name="endPoint"/> waiting for a connection slot right now.</summary>
    /// <param name="endPoint">The endpoint.</param>
    /// <returns>The count.</returns>
    public int WaitingRequests(string endPoint) => _pools.TryGetValue(endPoint, out var p) ? p.Limit.WaitingCount : 0;

    /// <summary>
    /// Sends a request to <paramref name="endPoint"/> on a pooled connection (or a new one, within the limit) and
    /// reads its response. A checkpoint. Needs <see cref="Capabilities.IO"/> and <see cref="Capabilities.Time"/>.
    /// See <see cref="HttpClientPool"/> for what a cancel leaves.
    /// </summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="endPoint">Where (<c>"127.0.0.1:8080"</c>); also the Host header.</param>
    /// <param name="method">The method.</param>
    /// <param name="target">The target, e.g. <c>/orders/7</c>.</param>
    /// <param name="body">The body (empty: none).</param>
    /// <param name="headers">Extra header fields.</param>
    /// <returns>The response.</returns>
    /// <exception cref="ObjectDisposedException">The pool was closed.</exception>
    /// <exception cref="IOException">The connection broke or the response was malformed.</exception>
    /// <exception cref="TimeoutException">The connect, response head or body did not complete in time.</exception>
    public async Task<HttpClientResponse> SendAsync(Cx cx, string endPoint, string method, string target, ReadOnlyMemory<byte> body = default, HttpHeaders? headers = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(target);
        cx.Require(Capabilities.IO | Capabilities.Time);
        ObjectDisposedException.ThrowIf(_closed, this);
        var pool = _pools.GetOrAdd(endPoint, static (_, max) => new EndPointPool(max), _options.MaxConnectionsPerEndPoint);
        using var slot = await pool.Limit.AcquireAsync(cx); // cancel-safe: a cancel here takes nothing
        for (int attempt = 0; ; attempt++)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            var conn = pool.TakeIdle(cx.Task.Runtime.Now, _options.IdleTimeout);
            bool reused = conn is not null;
            conn ??= await ConnectAsync(cx, endPoint);
            bool returned = false;
            try
            {
                var response = await conn.SendAsync(cx, method, target, body, headers);
                if (conn.IsReusable && !_closed)
                {
                    pool.ReturnIdle(conn, cx.Task.Runtime.Now);
                    returned = true;
                    if (_closed) pool.CloseIdle(); // closed meanwhile: nothing stays open behind the pool
                }
                return response;
            }
            catch (IOException) when (reused && attempt == 0 && IsIdempotent(method) && !cx.IsCancelRequested)
            {
                // A keep-alive connection the server had closed while it was idle: once more on a new connection.
            }
            finally
            {
                if (!returned) conn.Dispose(); // cancelled or failed mid-exchange: its protocol state is unknown
            }
        }
    }

    private async Task<HttpClientConnection> ConnectAsync(Cx cx, string endPoint)
    {
        var conn = await HttpClientConnection.ConnectAsync(cx, endPoint, _options.ConnectTimeout);
        Interlocked.Increment(ref _opened);
        conn.ResponseHeadersTimeout = _options.ResponseHeadersTimeout;
        conn.ResponseBodyTimeout = _options.ResponseBodyTimeout;
        conn.MaxResponseBody = _options.MaxResponseBody;
        return conn;
    }

    private static bool IsIdempotent(string method) => method is "GET" or "HEAD" or "PUT" or "DELETE" or "OPTIONS" or "TRACE";

    /// <summary>Closes every idle connection and refuses later sends. Idempotent.</summary>
    public void Dispose()
    {
        _closed = true;
        foreach (var p in _pools.Values) p.CloseIdle();
    }

    private sealed class EndPointPool(int max)
    {
        private readonly Stack<(HttpClientConnection Conn, TimeSpan Since)> _idle = new();

        public AsyncSemaphore Limit { get; } = new(max);

        public int IdleCount
        {
            get
            {
                lock (_idle) return _idle.Count;
            }
        }

        public HttpClientConnection? TakeIdle(TimeSpan now, TimeSpan idleTimeout)
        {
            while (true)
            {
                HttpClientConnection conn;
                TimeSpan since;
                lock (_idle)
                {
                    if (!_idle.TryPop(out var e)) return null;
                    (conn, since) = e;
                }
                if (now - since <= idleTimeout && conn.IsReusable) return conn;
                conn.Dispose(); // too old, or the server closed it or sent something unasked
            }
        }

        public void ReturnIdle(HttpClientConnection conn, TimeSpan now)
        {
            lock (_idle) _idle.Push((conn, now));
        }

        public void CloseIdle()
        {
            List<HttpClientConnection> all;
            lock (_idle)
            {
                all = _idle.Select(e => e.Conn).ToList();
                _idle.Clear();
            }
            foreach (var c in all) c.Dispose();
        }
    }
}
