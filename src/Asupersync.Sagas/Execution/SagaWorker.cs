using Asupersync.Sync;

namespace Asupersync.Sagas;

/// <summary>When <see cref="SagaCx.RunSagaWorkerAsync"/> returns (besides being cancelled).</summary>
public enum SagaWorkerStop
{
    /// <summary>Run until cancelled (a service's worker).</summary>
    Never,

    /// <summary>Return once nothing this worker could claim is left and it runs nothing.</summary>
    NothingClaimable,

    /// <summary>Return once the store has no unfinished saga at all — also none held by other workers (it waits for
    /// their leases to expire and takes those sagas over). Skipped (damaged) sagas do not count.</summary>
    AllFinished,
}

/// <summary>Settings of a saga worker or recovery pass.</summary>
public sealed record SagaWorkerOptions
{
    /// <summary>The defaults.</summary>
    public static SagaWorkerOptions Default { get; } = new();

    /// <summary>The most sagas run at once (default 16).</summary>
    public int MaxConcurrentSagas { get; init; } = 16;

    /// <summary>How often the worker looks for claimable sagas when idle (default 500 ms, runtime clock).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>When the worker returns (default <see cref="SagaWorkerStop.Never"/>).</summary>
    public SagaWorkerStop StopWhen { get; init; } = SagaWorkerStop.Never;

    /// <summary>Reopen CompensationFailed sagas and retry their compensation (once per worker run). Default false.</summary>
    public bool RetryCompensationFailed { get; init; }

    /// <summary>
    /// What a cancel of the worker does to the sagas it runs in their forward phase. False (default): they stop at once
    /// without compensating and their leases are released — another worker (or the next start) resumes them from the
    /// log, as after a crash; a worker's lifetime is not its sagas'. True: they compensate, as a cancelled
    /// <see cref="SagaCx.SagaAsync"/> does. A saga already compensating always finishes compensating (masked).
    /// </summary>
    public bool CancelCompensates { get; init; }

    /// <summary>The compensation retry policy for the sagas it runs.</summary>
    public RetryPolicy CompensationRetry { get; init; } = SagaOptions.DefaultCompensationRetry;

    /// <summary>Told about every durable transition of the sagas it runs.</summary>
    public ISagaObserver? Observer { get; init; }
}

/// <summary>What a worker or recovery pass did.</summary>
public sealed class SagaWorkerReport
{
    internal SagaWorkerReport(IReadOnlyList<SagaResult> results, IReadOnlyList<SagaStoreException> skipped)
    {
        Results = results;
        Skipped = skipped;
    }

    /// <summary>Each saga run to an end (or interrupted), in the order they ended.</summary>
    public IReadOnlyList<SagaResult> Results { get; }

    /// <summary>Sagas not run because their log is damaged or their definition is missing or different.</summary>
    public IReadOnlyList<SagaStoreException> Skipped { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Results.Count} sagas ({string.Join(", ", Results.GroupBy(r => r.State).Select(g => $"{g.Count()} {g.Key}"))}), {Skipped.Count} skipped";
}

/// <summary>Claim, check, resume: the recovery pass and the long-running worker.</summary>
internal static class SagaWorker
{
    internal static async Task<SagaWorkerReport> RecoverAsync(Cx cx, SagaLogStore store, SagaRegistry registry, SagaWorkerOptions options)
    {
        Validate(options);
        var claims = new List<SagaLease>();
        while (true)
        {
            var batch = await store.ClaimAsync(cx, 256, options.RetryCompensationFailed);
            if (batch.Count == 0) break;
            claims.AddRange(batch);
        }
        // Check every claimed log before running anything: a damaged log stops the pass with nothing applied.
        var prepared = new List<(Saga Saga, SagaLogState State, SagaLease Lease)>();
        SagaStoreException? error = null;
        foreach (var lease in claims)
        {
            try
            {
                var (saga, state) = await PrepareAsync(cx, store, registry, lease.SagaId);
                prepared.Add((saga, state, lease));
            }
            catch (SagaStoreException e)
            {
                error ??= e;
            }
        }
        if (error is not null)
        {
            using (cx.Mask())
            {
                foreach (var lease in claims)
                {
                    try
                    {
                        await store.ReleaseAsync(cx, lease);
                    }
                    catch (SagaStoreException)
                    {
                        // the lease expires by itself
                    }
                }
            }
            throw error;
        }
        var results = new List<SagaResult>();
        var gate = new AsyncSemaphore(options.MaxConcurrentSagas);
        await cx.RegionAsync("saga recovery", rcx =>
        {
            foreach (var (saga, state, lease) in prepared)
            {
                rcx.Spawn($"recover {state.SagaId}", async c =>
                {
                    using var permit = await gate.AcquireAsync(c);
                    var (_, r) = await SagaRunner.ResumeAsync(c, saga, state, store, lease, options.CompensationRetry, options.Observer, options.CancelCompensates);
                    if (r is not null)
                    {
                        lock (results) results.Add(r);
                    }
                });
            }
            return Task.CompletedTask;
        }, new RegionOptions { Policy = RegionPolicy.CollectAll });
        return new SagaWorkerReport(results, []);
    }

    internal static async Task<SagaWorkerReport> RunAsync(Cx cx, SagaLogStore store, SagaRegistry registry, SagaWorkerOptions options)
    {
        Validate(options);
        var results = new List<SagaResult>();
        var skipped = new List<SagaStoreException>();
        var running = new HashSet<string>();
        var skip = new HashSet<string>();
        var finished = new Notify();
        await cx.RegionAsync($"saga worker {store.WorkerId}", async wcx =>
        {
            while (true)
            {
                wcx.Checkpoint(); // a cancelled worker stops claiming (its running sagas are cancelled with its region)
                int free;
                lock (running) free = options.MaxConcurrentSagas - running.Count;
                int started = 0;
                IReadOnlyList<SagaLease> claims = [];
                if (free > 0)
                {
                    try
                    {
                        claims = await store.ClaimAsync(wcx, free, options.RetryCompensationFailed);
                    }
                    catch (SagaStoreException)
                    {
                        claims = []; // transient: try again after the poll interval
                    }
                }
                foreach (var lease in claims)
                {
                    (Saga Saga, SagaLogState State)? p = null;
                    if (!skip.Contains(lease.SagaId))
                    {
                        try
                        {
                            p = await PrepareAsync(wcx, store, registry, lease.SagaId);
                        }
                        catch (SagaStoreException e)
                        {
                            skip.Add(lease.SagaId);
                            lock (results) skipped.Add(e);
                        }
                    }
                    if (p is not { } prepared)
                    {
                        await ReleaseQuietlyAsync(wcx, store, lease);
                        continue;
                    }
                    lock (running) running.Add(lease.SagaId);
                    started++;
                    wcx.Spawn($"saga {lease.SagaId}", async c =>
                    {
                        try
                        {
                            var (_, r) = await SagaRunner.ResumeAsync(c, prepared.Saga, prepared.State, store, lease, options.CompensationRetry, options.Observer, options.CancelCompensates);
                            if (r is not null)
                            {
                                lock (results)
                                {
                                    results.Add(r);
                                    if (r.State == SagaState.CompensationFailed) skip.Add(r.SagaId); // retried at most once per run
                                }
                            }
                        }
                        finally
                        {
                            lock (running) running.Remove(lease.SagaId);
                            finished.NotifyOne();
                        }
                    });
                }
                bool idle;
                lock (running) idle = running.Count == 0;
                if (idle && started == 0)
                {
                    if (options.StopWhen == SagaWorkerStop.NothingClaimable) return;
                    if (options.StopWhen == SagaWorkerStop.AllFinished)
                    {
                        IReadOnlyList<string> left;
                        try
                        {
                            left = await store.ListUnfinishedAsync(wcx, options.RetryCompensationFailed);
                        }
                        catch (SagaStoreException)
                        {
                            left = ["?"];
                        }
                        bool done;
                        lock (results) done = left.All(skip.Contains);
                        if (done) return;
                    }
                }
                if (started > 0 && started == free) continue; // there may be more to claim at once
                await wcx.TimeoutAsync(options.PollInterval, async c =>
                {
                    await finished.WaitAsync(c);
                    return default(Unit);
                }, "saga worker poll");
            }
        }, new RegionOptions { Policy = RegionPolicy.CollectAll });
        lock (results) return new SagaWorkerReport(results.ToArray(), skipped.ToArray());
    }

    private static async Task<(Saga, SagaLogState)> PrepareAsync(Cx cx, SagaLogStore store, SagaRegistry registry, string sagaId)
    {
        var records = await store.ReadAsync(cx, sagaId);
        var state = SagaLogState.Replay(sagaId, records);
        if (!registry.TryGet(state.Header.Name, out var saga))
            throw new SagaDefinitionMismatchException(sagaId, $"no saga definition named '{state.Header.Name}' is registered");
        state.Header.Match(sagaId, saga);
        return (saga, state);
    }

    private static async Task ReleaseQuietlyAsync(Cx cx, SagaLogStore store, SagaLease lease)
    {
        try
        {
            using (cx.Mask()) await store.ReleaseAsync(cx, lease);
        }
        catch (SagaStoreException)
        {
            // the lease expires by itself
        }
    }

    private static void Validate(SagaWorkerOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxConcurrentSagas, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.PollInterval, TimeSpan.Zero, nameof(options));
        ArgumentNullException.ThrowIfNull(options.CompensationRetry, nameof(options));
    }
}
