namespace Asupersync.Lab;

/// <summary>
/// Marks accesses to user-level shared state so that exploration (DPOR, Foata fingerprints) sees that two steps
/// touching the same variable are dependent. Outside the Lab (production runtime) these calls do nothing.
/// </summary>
/// <example>
/// <code>
/// int balance = 0;
/// cx.Spawn("deposit", async cx =&gt;
/// {
///     LabAccess.Touch(cx, "balance"); var b = balance;
///     await cx.YieldAsync();
///     LabAccess.Touch(cx, "balance"); balance = b + 10;
/// });
/// </code>
/// </example>
public static class LabAccess
{
    /// <summary>Records that the running step of <paramref name="cx"/>'s task reads or writes the variable named <paramref name="name"/>.</summary>
    /// <param name="cx">The task's context.</param>
    /// <param name="name">A name stable across runs (the same variable must have the same name in every run).</param>
    public static void Touch(Cx cx, string name)
    {
        ArgumentNullException.ThrowIfNull(cx);
        ArgumentNullException.ThrowIfNull(name);
        if (cx.Task.Runtime.Observer is LabRun run) run.OnUserAccess(name);
    }
}

/// <summary>
/// A shared variable whose every read and write is reported to the Lab as an access (see <see cref="LabAccess"/>).
/// Not thread-safe: it is meant for Lab programs, which run on one thread.
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
/// <param name="name">A name stable across runs.</param>
/// <param name="initial">The initial value.</param>
public sealed class LabVar<T>(string name, T initial = default!)
{
    private T _value = initial;

    /// <summary>The variable's name.</summary>
    public string Name { get; } = name ?? throw new ArgumentNullException(nameof(name));

    /// <summary>Reads the value (an access).</summary>
    /// <param name="cx">The reading task's context.</param>
    /// <returns>The value.</returns>
    public T Read(Cx cx)
    {
        LabAccess.Touch(cx, Name);
        return _value;
    }

    /// <summary>Writes the value (an access).</summary>
    /// <param name="cx">The writing task's context.</param>
    /// <param name="value">The new value.</param>
    public void Write(Cx cx, T value)
    {
        LabAccess.Touch(cx, Name);
        _value = value;
    }

    /// <summary>The value, without recording an access (for assertions after the run).</summary>
    public T Value => _value;
}
