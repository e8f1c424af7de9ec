namespace Asupersync.Lab;

/// <summary>
/// A checker that watches every event of a Lab run and reports violations. The built-in oracles
/// (<see cref="LabOracles"/>) are on in every run; add your own with <see cref="LabOptions.Oracles"/>.
/// A fresh instance is created for every run, so an oracle may keep per-run state in fields.
/// </summary>
/// <example>
/// <code>
/// sealed class NoPanics : LabOracle
/// {
///     public override string Name =&gt; "NoPanics";
///     public override void OnEvent(in LabEvent e, LabOracleContext cx)
///     {
///         if (e.Kind == LabEventKind.Completed &amp;&amp; e.Code == (int)OutcomeKind.Panicked)
///             cx.Report(this, $"task {e.TaskId} panicked", e.TaskId);
///     }
/// }
/// var result = LabRuntime.Run(7, program, new LabOptions { Oracles = [() =&gt; new NoPanics()] });
/// </code>
/// </example>
public abstract class LabOracle
{
    /// <summary>The oracle's name, as it appears in failures.</summary>
    public abstract string Name { get; }

    /// <summary>Called for every kernel and scheduler event, in order.</summary>
    /// <param name="e">The event.</param>
    /// <param name="context">The run, and where to report.</param>
    public virtual void OnEvent(in LabEvent e, LabOracleContext context) { }

    /// <summary>Called once when the run ended (the root closed, or the run was stopped).</summary>
    /// <param name="context">The run, and where to report.</param>
    public virtual void OnRunEnd(LabOracleContext context) { }
}

/// <summary>What an oracle knows about the run it watches, and the sink for its findings.</summary>
public sealed class LabOracleContext
{
    private readonly Action<string, string, long[]> _report;
    private readonly Func<long, string> _describe;
    private readonly Func<int> _step;

    internal LabOracleContext(ulong seed, Func<int> step, Func<long, string> describe, Action<string, string, long[]> report)
    {
        Seed = seed;
        _step = step;
        _describe = describe;
        _report = report;
    }

    /// <summary>The run's seed.</summary>
    public ulong Seed { get; }

    /// <summary>The current scheduling step.</summary>
    public int Step => _step();

    /// <summary>True once the root region closed (set before <see cref="LabOracle.OnRunEnd"/>).</summary>
    public bool RootClosed { get; internal set; }

    /// <summary>True when the run was stopped early (deadlock, step limit, determinism failure).</summary>
    public bool Stopped { get; internal set; }

    /// <summary>A readable name for a task or region id (e.g. <c>task 4 'worker'</c>).</summary>
    /// <param name="id">A task or region id.</param>
    /// <returns>The description.</returns>
    public string Describe(long id) => _describe(id);

    /// <summary>Reports a violation.</summary>
    /// <param name="oracle">The reporting oracle.</param>
    /// <param name="message">What is wrong, naming the tasks and regions.</param>
    /// <param name="objects">Ids of the objects involved.</param>
    public void Report(LabOracle oracle, string message, params long[] objects)
    {
        ArgumentNullException.ThrowIfNull(oracle);
        _report(oracle.Name, message, objects);
    }

    internal void Report(string oracle, string message, params long[] objects) => _report(oracle, message, objects);
}
