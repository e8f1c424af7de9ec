using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Asupersync.Net;

/// <summary>
/// TLS over a runtime <see cref="TcpStream"/> (a wrapped <see cref="SslStream"/>), server or client side. The
/// handshake is one operation under the caller's budget; reads and writes take the calling task's <see cref="Cx"/>
/// and go through the TCP stream's own cancel-safe operations, so they resume through the driver.
/// </summary>
/// <remarks>
/// <para><b>Ownership:</b> the authenticate methods take ownership of the <see cref="TcpStream"/>: on success the
/// returned <see cref="TlsStream"/> owns it (closing one closes the other); on any failure, cancel or timeout the
/// TCP stream is aborted before the exception propagates.</para>
/// <para><b>Partial-effect boundary:</b> TLS records cannot be resumed half-read or half-written, so unlike
/// <see cref="TcpStream"/> the TLS operations are <em>not</em> cancel-safe past their start: a handshake, read or write
/// that is cancelled, times out or fails aborts the connection (RST; the peer sees a reset, never a truncated
/// record accepted as data) and the stream is unusable afterwards (<see cref="IsClosed"/>). What the peer has
/// received before the abort is unknown to the caller (a prefix of the write, part of the handshake). A read that
/// completes returns whole decrypted bytes; nothing is written into a caller's buffer after the call ended.</para>
/// <para>How: SslStream's own state machines run off the runtime (they use <c>ConfigureAwait(false)</c>), like a
/// bridge; its transport reads and writes are posted as requests that the runtime task whose TLS operation is
/// running performs on the <see cref="TcpStream"/> with its own <see cref="Cx"/>, so every wait is a kernel wait of
/// that task and a cancel or drain interrupts it.</para>
/// <para>One read and one write may be outstanding at the same time, from different tasks.</para>
/// </remarks>
public sealed class TlsStream : IAsyncDisposable, IDisposable
{
    private readonly TcpStream _tcp;
    private readonly CxStream _inner;
    private readonly SslStream _ssl;
    private int _broken;

    private TlsStream(TcpStream tcp, CxStream inner, SslStream ssl)
    {
        _tcp = tcp;
        _inner = inner;
        _ssl = ssl;
    }

    /// <summary>The TCP stream underneath (owned by this stream).</summary>
    public TcpStream Tcp => _tcp;

    /// <summary>The peer's endpoint.</summary>
    public IPEndPoint RemoteEndPoint => _tcp.RemoteEndPoint;

    /// <summary>The local endpoint.</summary>
    public IPEndPoint LocalEndPoint => _tcp.LocalEndPoint;

    /// <summary>The application protocol agreed by ALPN (e.g. <c>http/1.1</c>), or empty when none was.</summary>
    public SslApplicationProtocol NegotiatedApplicationProtocol => _ssl.NegotiatedApplicationProtocol;

    /// <summary>The negotiated TLS version.</summary>
    public SslProtocols SslProtocol => _ssl.SslProtocol;

    /// <summary>The peer's certificate, if it sent one.</summary>
    public X509Certificate? RemoteCertificate => _ssl.RemoteCertificate;

    /// <summary>True once closed or aborted (including after a cancelled, timed-out or failed operation).</summary>
    public bool IsClosed => _tcp.IsClosed;

    /// <summary>
    /// Runs the server side of the handshake on <paramref name="tcp"/>, bounded by <paramref name="budget"/> (its
    /// deadline or timeout, measured from now, covers the whole handshake). A checkpoint; needs
    /// <see cref="Capabilities.IO"/> (and <see cref="Capabilities.Time"/> with a deadline or timeout).
    /// </summary>
    /// <remarks><b>Cancel-safety:</b> a cancel, the budget running out or a failed handshake (e.g. a plain-text
    /// client) aborts <paramref name="tcp"/> and returns nothing; a peer that is not speaking TLS (<see cref="AuthenticationException"/>)
    /// gets a graceful close instead. See the type's remarks for the boundary.</remarks>
    /// <param name="cx">The task's context.</param>
    /// <param name="tcp">The accepted connection; ownership passes to this call.</param>
    /// <param name="options">The server certificate, ALPN protocols, and so on.</param>
    /// <param name="budget">The handshake's deadline or timeout; unlimited means only the task's own budget.</param>
    /// <returns>The authenticated stream.</returns>
    /// <exception cref="TimeoutException">The budget ran out first.</exception>
    /// <exception cref="AuthenticationException">The handshake failed.</exception>
    /// <exception cref="IOException">The connection broke.</exception>
    public static ValueTask<TlsStream> AuthenticateAsServerAsync(Cx cx, TcpStream tcp, SslServerAuthenticationOptions options, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(options);
        return AuthenticateAsync(cx, tcp, budget, ssl => ssl.AuthenticateAsServerAsync(options, CancellationToken.None));
    }

    /// <summary>
    /// Runs the client side of the handshake on <paramref name="tcp"/>, bounded by <paramref name="budget"/>; as
    /// <see cref="AuthenticateAsServerAsync"/>.
    /// </summary>
    /// <remarks><b>Cancel-safety:</b> a cancel, the budget running out or a failed handshake aborts
    /// <paramref name="tcp"/> and returns nothing.</remarks>
    /// <param name="cx">The task's context.</param>
    /// <param name="tcp">The connected stream; ownership passes to this call.</param>
    /// <param name="options">Target host, validation callback, ALPN protocols, and so on.</param>
    /// <param name="budget">The handshake's deadline or timeout; unlimited means only the task's own budget.</param>
    /// <returns>The authenticated stream.</returns>
    /// <exception cref="TimeoutException">The budget ran out first.</exception>
    /// <exception cref="AuthenticationException">The handshake failed (e.g. the certificate was rejected).</exception>
    /// <exception cref="IOException">The connection broke.</exception>
    public static ValueTask<TlsStream> AuthenticateAsClientAsync(Cx cx, TcpStream tcp, SslClientAuthenticationOptions options, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(options);
        return AuthenticateAsync(cx, tcp, budget, ssl => ssl.AuthenticateAsClientAsync(options, CancellationToken.None));
    }

    private static async ValueTask<TlsStream> AuthenticateAsync(Cx cx, TcpStream tcp, Budget budget, Func<SslStream, Task> handshake)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(tcp);
        bool timed = budget.Deadline is not null || budget.RelativeTimeout is not null;
        cx.Require(timed ? Capabilities.IO | Capabilities.Time : Capabilities.IO);
        try
        {
            cx.Checkpoint();
        }
        catch
        {
            tcp.Abort("tls handshake cancelled");
            throw;
        }
        var deadline = timed ? budget.Resolve(cx.Now).Deadline : null;
        var inner = new CxStream(tcp);
        var ssl = new SslStream(inner, leaveInnerStreamOpen: true);
        try
        {
            await inner.PumpAsync(cx, AsBool(handshake(ssl)), deadline);
        }
        catch (Exception e)
        {
            // A peer that is not speaking TLS (a plain-HTTP client) gets a graceful close; a cancel, timeout or broken
            // transport gets an abort.
            if (e is AuthenticationException) tcp.Close("tls handshake failed: " + e.Message);
            else tcp.Abort("tls handshake: " + e.GetType().Name);
            inner.Fail("The TLS handshake was ended.");
            ssl.Dispose();
            throw;
        }
        return new TlsStream(tcp, inner, ssl);
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length decrypted bytes. A checkpoint; needs <see cref="Capabilities.IO"/>.</summary>
    /// <remarks><b>Cancel-safety:</b> a cancelled or failed read aborts the connection (see the type's remarks).</remarks>
    /// <param name="cx">The reading task's context.</param>
    /// <param name="buffer">Where to put the bytes.</param>
    /// <returns>The number of bytes read, or 0 when the peer closed.</returns>
    /// <exception cref="IOException">The connection was reset, broke, or was closed locally.</exception>
    public ValueTask<int> ReadAsync(Cx cx, Memory<byte> buffer) => ReadAsync(cx, buffer, Budget.Unlimited);

    /// <summary>Reads like <see cref="ReadAsync(Cx, Memory{byte})"/>, bounded by <paramref name="budget"/>; a timeout aborts the connection.</summary>
    /// <param name="cx">The reading task's context.</param>
    /// <param name="buffer">Where to put the bytes.</param>
    /// <param name="budget">The deadline or timeout of this read.</param>
    /// <returns>The number of bytes read, or 0 when the peer closed.</returns>
    /// <exception cref="TimeoutException">The budget ran out first.</exception>
    /// <exception cref="IOException">The connection was reset, broke, or was closed locally.</exception>
    public async ValueTask<int> ReadAsync(Cx cx, Memory<byte> buffer, Budget budget)
    {
        Enter(cx, budget);
        if (buffer.IsEmpty) return 0;
        var deadline = Deadline(cx, budget);
        if (_pendingWait is not null) await WaitReadableCoreAsync(cx, deadline);
        try
        {
            return await _inner.PumpAsync(cx, _ssl.ReadAsync(buffer, CancellationToken.None).AsTask(), deadline);
        }
        catch (Exception e)
        {
            Break("tls read: " + e.GetType().Name);
            throw;
        }
    }

    /// <summary>A readiness wait that was cancelled or timed out: it consumed nothing, and the next wait or read resumes it.</summary>
    private Task<int>? _pendingWait;

    /// <summary>
    /// Waits until decrypted bytes can be read (or end of stream, or an error), holding no buffer while nothing has
    /// arrived: a zero-byte <see cref="SslStream"/> read, whose transport wait is the TCP stream's readiness wait.
    /// Bounded by <paramref name="budget"/> (<see cref="TimeoutException"/>). A checkpoint.
    /// </summary>
    /// <remarks><b>Cancel-safety:</b> unlike the other TLS operations, cancel-safe and timeout-safe while it waits for
    /// the first byte (nothing is consumed: the next wait or read resumes it); a failure once TLS records are being
    /// processed aborts the connection.</remarks>
    internal ValueTask WaitReadableAsync(Cx cx, Budget budget)
    {
        Enter(cx, budget);
        return WaitReadableCoreAsync(cx, Deadline(cx, budget));
    }

    private async ValueTask WaitReadableCoreAsync(Cx cx, TimeSpan? deadline)
    {
        var wait = _pendingWait ??= _ssl.ReadAsync(Memory<byte>.Empty, CancellationToken.None).AsTask();
        try
        {
            await _inner.PumpAsync(cx, wait, deadline);
            _pendingWait = null;
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException && _inner.TakeResumable())
        {
            throw; // still waiting for the first byte: resumable, the stream stays usable
        }
        catch (Exception e)
        {
            _pendingWait = null;
            Break("tls wait: " + e.GetType().Name);
            throw;
        }
    }

    /// <summary>Encrypts and writes all of <paramref name="data"/>. A checkpoint; needs <see cref="Capabilities.IO"/>.</summary>
    /// <remarks><b>Cancel-safety:</b> not atomic; a cancelled or failed write aborts the connection, and an unknown
    /// prefix may have reached the peer (see the type's remarks).</remarks>
    /// <param name="cx">The writing task's context.</param>
    /// <param name="data">The bytes.</param>
    /// <returns>A task completing when the records were handed to the network.</returns>
    /// <exception cref="IOException">The connection was reset, broke, or was closed locally.</exception>
    public ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data) => WriteAsync(cx, data, Budget.Unlimited);

    /// <summary>Writes like <see cref="WriteAsync(Cx, ReadOnlyMemory{byte})"/>, bounded by <paramref name="budget"/>; a timeout aborts the connection.</summary>
    /// <param name="cx">The writing task's context.</param>
    /// <param name="data">The bytes.</param>
    /// <param name="budget">The deadline or timeout of this write.</param>
    /// <returns>A task completing when the records were handed to the network.</returns>
    /// <exception cref="TimeoutException">The budget ran out first.</exception>
    /// <exception cref="IOException">The connection was reset, broke, or was closed locally.</exception>
    public async ValueTask WriteAsync(Cx cx, ReadOnlyMemory<byte> data, Budget budget)
    {
        Enter(cx, budget);
        if (data.IsEmpty) return;
        try
        {
            await _inner.PumpAsync(cx, AsBool(_ssl.WriteAsync(data, CancellationToken.None).AsTask()), Deadline(cx, budget));
        }
        catch (Exception e)
        {
            Break("tls write: " + e.GetType().Name);
            throw;
        }
    }

    /// <summary>Sends the TLS close_notify alert and half-closes TCP (FIN); this side can still read.</summary>
    /// <remarks><b>Cancel-safety:</b> a cancelled shutdown aborts the connection.</remarks>
    /// <param name="cx">The task's context.</param>
    /// <returns>A task completing once the alert and FIN were queued.</returns>
    /// <exception cref="IOException">The connection broke or was closed locally.</exception>
    public async ValueTask ShutdownAsync(Cx cx)
    {
        Enter(cx, Budget.Unlimited);
        try
        {
            await _inner.PumpAsync(cx, AsBool(_ssl.ShutdownAsync()), null);
            await _tcp.ShutdownAsync(cx);
        }
        catch (Exception e)
        {
            Break("tls shutdown: " + e.GetType().Name);
            throw;
        }
    }

    /// <summary>Graceful close of the TCP stream (no close_notify: use <see cref="ShutdownAsync"/> for that). Never waits, never throws; idempotent.</summary>
    /// <param name="reason">Why, for diagnostics.</param>
    public void Close(string? reason = null)
    {
        _tcp.Close(reason);
        _inner.Fail("The TLS stream was closed.");
        _ssl.Dispose();
        Observe();
    }

    /// <summary>Aborts the connection (RST). Never waits, never throws; idempotent.</summary>
    /// <param name="reason">Why, for diagnostics.</param>
    public void Abort(string? reason = null)
    {
        _tcp.Abort(reason);
        _inner.Fail("The TLS stream was aborted.");
        _ssl.Dispose();
        Observe();
    }

    /// <summary>A readiness wait left pending by a cancel fails when the stream closes; nobody awaits it any more.</summary>
    private void Observe()
    {
        if (Interlocked.Exchange(ref _pendingWait, null) is { } t) _ = t.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Graceful close (<see cref="Close"/>).</summary>
    public void Dispose() => Close("disposed");

    /// <summary>Graceful close (<see cref="Close"/>); never waits.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Close("disposed");
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"TlsStream({_tcp})";

    private void Enter(Cx cx, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(cx);
        cx.Require(budget.Deadline is null && budget.RelativeTimeout is null ? Capabilities.IO : Capabilities.IO | Capabilities.Time);
        cx.Checkpoint();
        if (Volatile.Read(ref _broken) != 0 || _tcp.IsClosed) throw NetErrors.ClosedLocally();
    }

    private static TimeSpan? Deadline(Cx cx, Budget budget) =>
        budget.Deadline is null && budget.RelativeTimeout is null ? null : budget.Resolve(cx.Now).Deadline;

    private void Break(string reason)
    {
        if (Interlocked.Exchange(ref _broken, 1) != 0) return;
        _tcp.Abort(reason);
        _inner.Fail(reason);
    }

    private static async Task<bool> AsBool(Task t)
    {
        await t.ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// The <see cref="Stream"/> that <see cref="SslStream"/> sees. SslStream's state machines use
    /// <c>ConfigureAwait(false)</c> and so run off the runtime (like a bridge): its reads and writes are posted here
    /// as requests, and the runtime task whose TLS operation is running performs them on the <see cref="TcpStream"/>
    /// with its own <see cref="Cx"/> and deadline (<see cref="PumpAsync"/>), so every wait is a kernel wait of that task.
    /// </summary>
    private sealed class CxStream(TcpStream tcp) : Stream
    {
        private readonly Lock _lock = new();
        private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Request? _read, _write;
        private Exception? _broken;

        private sealed class Request(bool isRead, Memory<byte> readBuffer, ReadOnlyMemory<byte> writeBuffer)
        {
            internal readonly bool IsRead = isRead;
            internal readonly Memory<byte> ReadBuffer = readBuffer;
            internal readonly ReadOnlyMemory<byte> WriteBuffer = writeBuffer;
            internal readonly TaskCompletionSource<int> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        /// <summary>Performs the I/O that <paramref name="op"/> asks for until it completes; returns its result.</summary>
        internal async ValueTask<T> PumpAsync<T>(Cx cx, Task<T> op, TimeSpan? deadline)
        {
            _resumable = true; // until a transport operation is torn
            while (true)
            {
                Request? req;
                Task signal;
                lock (_lock)
                {
                    req = _read ?? _write;
                    if (req is not null)
                    {
                        if (req.IsRead) _read = null;
                        else _write = null;
                    }
                    if (_signal.Task.IsCompleted) _signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    signal = _signal.Task;
                }
                if (req is null)
                {
                    if (op.IsCompleted) return await cx.AwaitAsync(op);
                    await cx.AwaitAsync(Task.WhenAny(op, signal));
                    continue;
                }
                try
                {
                    if (req.IsRead && req.ReadBuffer.IsEmpty)
                    {
                        // SslStream's zero-byte read before it rents a buffer for a record: a readiness wait.
                        var budget = deadline is { } d ? Budget.AtDeadline(d) : Budget.Unlimited;
                        await tcp.WaitReadableAsync(cx, budget);
                        req.Done.TrySetResult(0);
                    }
                    else if (req.IsRead)
                    {
                        int n = deadline is { } d ? await tcp.ReadAsync(cx, req.ReadBuffer, Budget.AtDeadline(d)) : await tcp.ReadAsync(cx, req.ReadBuffer);
                        req.Done.TrySetResult(n);
                    }
                    else
                    {
                        if (deadline is { } d) await tcp.WriteAsync(cx, req.WriteBuffer, Budget.AtDeadline(d));
                        else await tcp.WriteAsync(cx, req.WriteBuffer);
                        req.Done.TrySetResult(req.WriteBuffer.Length);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or TimeoutException && req.IsRead)
                {
                    // A TCP read consumes nothing when cancelled or timed out, and its buffer is SslStream's own (its
                    // operation is still pending): the request is put back, for a later pump to resume.
                    bool parked;
                    lock (_lock)
                    {
                        parked = _broken is null && _read is null;
                        if (parked) _read = req;
                    }
                    _resumable = parked;
                    if (!parked) req.Done.TrySetException(new IOException("The TLS transport failed: " + e.Message, e));
                    throw;
                }
                catch (Exception e)
                {
                    _resumable = false;
                    req.Done.TrySetException(new IOException("The TLS transport failed: " + e.Message, e));
                    throw;
                }
            }
        }

        private bool _resumable;

        /// <summary>
        /// After a pump ended by a cancel or timeout: true when no transport operation was torn (it was waiting for
        /// SslStream, or a read was put back), so the SslStream operation can be resumed by a later pump. Reading clears it.
        /// </summary>
        internal bool TakeResumable()
        {
            bool r = _resumable;
            _resumable = false;
            return r;
        }

        /// <summary>Fails every pending and later request (the connection was aborted).</summary>
        internal void Fail(string reason)
        {
            Request? r, w;
            lock (_lock)
            {
                _broken ??= NetErrors.ClosedLocally();
                r = _read;
                w = _write;
                _read = _write = null;
            }
            r?.Done.TrySetException(new IOException(reason));
            w?.Done.TrySetException(new IOException(reason));
        }

        private Task<int> Post(Request req)
        {
            TaskCompletionSource signal;
            lock (_lock)
            {
                if (_broken is not null) return Task.FromException<int>(_broken);
                if (req.IsRead) _read = req;
                else _write = req;
                signal = _signal;
            }
            signal.TrySetResult();
            return req.Done.Task;
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            new(Post(new Request(true, buffer, default)));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            new(Post(new Request(false, default, buffer)));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Post(new Request(true, buffer.AsMemory(offset, count), default));

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Post(new Request(false, default, buffer.AsMemory(offset, count)));

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("TLS over a runtime TcpStream is asynchronous only.");

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("TLS over a runtime TcpStream is asynchronous only.");

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
