namespace Asupersync.Sagas;

/// <summary>Running sagas from a task: <c>cx.SagaAsync(saga)</c>, submitting them for workers, recovering them after a crash.</summary>
public static class SagaCx
{
    /// <summary>
    /// Runs a saga in a region of its own and returns once it ended: every step completed, or every started step was
    /// compensated in LIFO order, or a compensation failed, or the run was interrupted.
    /// </summary>
    /// <param name="cx">The calling task's context (needs Spawn and Time; Random unless <see cref="SagaOptions.SagaId"/> is given).</param>
    /// <param name="saga">The definition.</param>
    /// <param name="options">Store, id, input, plan and compensation retry; null for the defaults.</param>
    /// <returns>
    /// <c>Ok(result)</c> when every step completed. When a step failed or the saga was cancelled and every started step
    /// was compensated: <c>Err(</c><see cref="SagaAbortedException"/><c>)</c> for a step's Err, <c>Cancelled(reason)</c>
    /// for a cancel, <c>Panicked(exception)</c> for a step's unexpected exception. When a compensation still failed
    /// after its retries: <c>Err(</c><see cref="SagaCompensationFailedException"/><c>)</c> naming the step — also when
    /// the saga was cancelled, so that a cancel never hides it. When the run could not reach a final state (store
    /// failure, lost lease, cleanup budget spent): <c>Err(</c><see cref="SagaInterruptedException"/><c>)</c>; the log
    /// holds the saga and recovery finishes it. A store error before the saga started (unreachable store, duplicate
    /// id) is <c>Err</c> with that <see cref="SagaStoreException"/>; nothing ran.
    /// </returns>
    /// <example>
    /// <code>
    /// var o = await cx.SagaAsync(order, new SagaOptions { Store = store, SagaId = "order-42", Input = json });
    /// if (o.Error is SagaCompensationFailedException f) alert($"order 42 needs a human: {f.Step}");
    /// </code>
    /// </example>
    public static Task<Outcome<SagaResult>> SagaAsync(this Cx cx, Saga saga, SagaOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(saga);
        options ??= SagaOptions.Default;
        if (options.SagaId is { } id) ArgumentException.ThrowIfNullOrWhiteSpace(id, nameof(options));
        ArgumentNullException.ThrowIfNull(options.CompensationRetry, nameof(options));
        saga.Freeze();
        return SagaRunner.StartAsync(cx, saga, options);
    }

    /// <summary>
    /// Records a new saga in the store without running it (its <see cref="SagaTransition.SagaStarted"/> record, unowned):
    /// a worker (<see cref="RunSagaWorkerAsync"/>) or a recovery pass runs it.
    /// </summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="store">The store.</param>
    /// <param name="saga">The definition (workers must have it in their registry).</param>
    /// <param name="input">The saga's input, or null.</param>
    /// <param name="sagaId">The id (default: random).</param>
    /// <param name="planning">The plan the workers will follow (default CALM).</param>
    /// <returns>The saga's id.</returns>
    /// <exception cref="SagaAlreadyExistsException">The id is taken.</exception>
    /// <exception cref="SagaStoreException">The store failed (the saga may or may not exist).</exception>
    public static async Task<string> SubmitSagaAsync(this Cx cx, SagaLogStore store, Saga saga, string? input = null, string? sagaId = null, SagaPlanning planning = SagaPlanning.Calm)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(saga);
        saga.Freeze();
        var id = sagaId ?? SagaRunner.NewId(cx);
        using (cx.Mask())
        {
            await store.AppendAsync(cx, new SagaLogEntry(id, SagaTransition.SagaStarted, -1, SagaLogFormat.EncodeHeader(saga, input, planning), cx.UtcNow), null);
        }
        return id;
    }

    /// <summary>
    /// One recovery pass, as after a restart: claims every unfinished saga it can (all of them on a single-process
    /// store; the unowned and expired ones on a shared store), reads and checks <em>every</em> claimed log first, and
    /// only then resumes each saga — forward or compensating, exactly from its log. If any log is corrupt, names an
    /// unknown definition, or does not match its definition, nothing is run and the error is thrown.
    /// </summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="store">The store.</param>
    /// <param name="registry">The definitions, by name.</param>
    /// <param name="options">Concurrency, compensation retry, observer; <see cref="SagaWorkerOptions.RetryCompensationFailed"/>
    /// reopens CompensationFailed sagas to retry them.</param>
    /// <returns>What happened to each saga.</returns>
    /// <exception cref="SagaLogCorruptException">A log is damaged (nothing was run).</exception>
    /// <exception cref="SagaDefinitionMismatchException">A definition is missing or differs (nothing was run).</exception>
    /// <exception cref="SagaStoreException">The store failed.</exception>
    public static Task<SagaWorkerReport> RecoverSagasAsync(this Cx cx, SagaLogStore store, SagaRegistry registry, SagaWorkerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(registry);
        return SagaWorker.RecoverAsync(cx, store, registry, options ?? SagaWorkerOptions.Default);
    }

    /// <summary>
    /// Runs a saga worker: claims unfinished sagas (with leases on a shared store, <c>FOR UPDATE SKIP LOCKED</c>),
    /// resumes each in its own region with a lease heartbeat, takes over sagas whose worker died once their lease
    /// expired, and polls for more. A saga whose log is damaged or whose definition is missing is skipped and reported.
    /// Runs until cancelled, or until <see cref="SagaWorkerOptions.StopWhen"/> says.
    /// </summary>
    /// <param name="cx">The calling task's context.</param>
    /// <param name="store">The store.</param>
    /// <param name="registry">The definitions, by name.</param>
    /// <param name="options">Concurrency, polling, stop condition.</param>
    /// <returns>What happened to each saga it ran.</returns>
    public static Task<SagaWorkerReport> RunSagaWorkerAsync(this Cx cx, SagaLogStore store, SagaRegistry registry, SagaWorkerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(registry);
        return SagaWorker.RunAsync(cx, store, registry, options ?? SagaWorkerOptions.Default);
    }
}
