using System.Runtime.ExceptionServices;
using Asupersync.Sync;

namespace Asupersync.Sagas;

/// <summary>
/// Group commit with a rotating leader: the first appender to find no commit in progress leads — it yields once so
/// that appenders made ready together can join, takes every pending record, commits them in one transaction (one
/// fsync), wakes their appenders and hands leadership to the oldest appender still waiting. No background task or
/// thread: commits happen in the appenders' own steps.
/// </summary>
/// <remarks>
/// <para>The commit callback is synchronous (Microsoft.Data.Sqlite's async API completes synchronously anyway; the
/// in-memory store has nothing to wait for), so a leader never suspends between taking a batch and finishing it, and
/// a cancelled appender that was just handed the leadership can lead at once, without waiting.</para>
/// <para>Cancel-safety: an appender whose wait is interrupted leaves its record pending (it is still committed by a
/// later leader — an interrupted append is "maybe durable"); if it had just been chosen as leader it commits before
/// leaving, so leadership is never lost. Choosing and leaving happen under one lock.</para>
/// <para>A batch whose commit fails is retried one record per transaction, so one bad record (a duplicate saga id, a
/// lost lease) fails alone.</para>
/// </remarks>
internal sealed class GroupCommitter
{
    internal sealed class Pending(SagaLogEntry entry, SagaLease? lease)
    {
        internal readonly SagaLogEntry Entry = entry;
        internal readonly SagaLease? Lease = lease;
        internal readonly Notify Signal = new();
        internal bool Done;
        internal bool Chosen;
        internal bool Abandoned;
        internal SagaLogRecord? Record;
        internal Exception? Error;
    }

    private readonly Lock _gate = new();
    private readonly Action<IReadOnlyList<Pending>> _commit;
    private readonly bool _yield;
    private List<Pending> _open = [];
    private bool _leading;
    private long _commits;
    private long _records;

    /// <param name="commit">Commits a batch in one transaction, setting each pending's <see cref="Pending.Record"/>; throws to fail it.</param>
    /// <param name="yieldBeforeCommit">Whether a new leader yields once before taking its batch.</param>
    internal GroupCommitter(Action<IReadOnlyList<Pending>> commit, bool yieldBeforeCommit)
    {
        _commit = commit;
        _yield = yieldBeforeCommit;
    }

    internal long Commits => Interlocked.Read(ref _commits);

    internal long Records => Interlocked.Read(ref _records);

    internal async ValueTask<SagaLogRecord> AppendAsync(Cx cx, SagaLogEntry entry, SagaLease? lease)
    {
        var p = new Pending(entry, lease);
        bool lead;
        lock (_gate)
        {
            _open.Add(p);
            lead = !_leading;
            _leading = true;
        }
        if (lead)
        {
            CancelledException? cancelled = null;
            if (_yield)
            {
                try
                {
                    await cx.YieldAsync();
                }
                catch (CancelledException ce)
                {
                    cancelled = ce; // still the leader: commit first, then report the cancel
                }
            }
            Lead(p);
            if (cancelled is not null) ExceptionDispatchInfo.Throw(cancelled);
            return Result(p);
        }
        while (true)
        {
            try
            {
                await p.Signal.WaitAsync(cx);
            }
            catch (CancelledException)
            {
                bool mustLead;
                lock (_gate)
                {
                    mustLead = p.Chosen && !p.Done;
                    if (!p.Chosen && !p.Done) p.Abandoned = true;
                }
                if (mustLead) Lead(p);
                throw;
            }
            bool chosen;
            lock (_gate)
            {
                if (p.Done) break;
                chosen = p.Chosen;
            }
            if (chosen)
            {
                Lead(p);
                break;
            }
        }
        return Result(p);
    }

    private static SagaLogRecord Result(Pending p)
    {
        if (p.Error is not null) ExceptionDispatchInfo.Throw(p.Error);
        return p.Record!;
    }

    /// <summary>Commits batches while holding the leadership until <paramref name="me"/> is durable, then hands over.</summary>
    private void Lead(Pending me)
    {
        while (true)
        {
            List<Pending> batch;
            lock (_gate)
            {
                batch = _open;
                _open = [];
            }
            if (batch.Count > 0) Commit(batch, me);
            Pending? next = null;
            bool again = false;
            lock (_gate)
            {
                if (!me.Done || (_open.Count > 0 && _open.TrueForAll(x => x.Abandoned)))
                {
                    again = true; // only records whose appenders left are pending: commit them ourselves
                }
                else
                {
                    next = _open.Find(x => !x.Abandoned);
                    if (next is null) _leading = false;
                    else next.Chosen = true;
                }
            }
            if (again) continue;
            next?.Signal.NotifyOne();
            return;
        }
    }

    private void Commit(List<Pending> batch, Pending me)
    {
        try
        {
            _commit(batch);
            Interlocked.Increment(ref _commits);
        }
        catch (Exception) when (batch.Count > 1)
        {
            foreach (var p in batch)
            {
                p.Record = null;
                try
                {
                    _commit([p]);
                    Interlocked.Increment(ref _commits);
                }
                catch (Exception e)
                {
                    p.Error = e;
                }
            }
        }
        catch (Exception e)
        {
            batch[0].Error = e;
        }
        Interlocked.Add(ref _records, batch.Count(p => p.Error is null));
        lock (_gate)
        {
            foreach (var p in batch) p.Done = true;
        }
        foreach (var p in batch)
        {
            if (!ReferenceEquals(p, me)) p.Signal.NotifyOne();
        }
    }
}
