namespace Asupersync.Model;

/// <summary>The four outcome levels of the lattice <c>Ok &lt; Err &lt; Cancelled &lt; Panicked</c>.</summary>
public enum Level
{
    /// <summary>The body returned a value (bottom).</summary>
    Ok = 0,

    /// <summary>An expected error.</summary>
    Err = 1,

    /// <summary>Cancelled by the runtime.</summary>
    Cancelled = 2,

    /// <summary>An unexpected exception (top).</summary>
    Panicked = 3,
}

/// <summary>
/// The algebra the rules rest on: the outcome join, the strengthening of cancel reasons (by tier, then by an
/// arbitrary but fixed total order that the model abstracts as the tier alone) and the meet of deadlines.
/// The same operations are defined in <c>formal/Lattice.v</c>, where their laws are proved.
/// </summary>
public static class Lattice
{
    /// <summary>Ticks standing for "no deadline" (the top of the deadline order).</summary>
    public const long NoDeadline = long.MaxValue;

    /// <summary>The join of two outcome levels: the more severe one.</summary>
    /// <param name="a">One level.</param>
    /// <param name="b">The other.</param>
    /// <returns><c>max(a, b)</c>.</returns>
    public static Level Join(Level a, Level b) => a >= b ? a : b;

    /// <summary>Strengthening on tiers: a second request keeps the more severe tier (-1 stands for "no reason yet").</summary>
    /// <param name="a">The current tier, or -1.</param>
    /// <param name="b">The requested tier, or -1.</param>
    /// <returns><c>max(a, b)</c>.</returns>
    public static int Strengthen(int a, int b) => a >= b ? a : b;

    /// <summary>The meet of two deadlines: the earlier one (<see cref="NoDeadline"/> is the unit).</summary>
    /// <param name="a">A deadline in ticks.</param>
    /// <param name="b">Another.</param>
    /// <returns><c>min(a, b)</c>.</returns>
    public static long Meet(long a, long b) => a <= b ? a : b;

    /// <summary>Maps a trace's deadline encoding (-1 for none) to the model's (<see cref="NoDeadline"/>).</summary>
    /// <param name="ticks">Ticks, or a negative value for none.</param>
    /// <returns>The deadline.</returns>
    public static long Deadline(long ticks) => ticks < 0 ? NoDeadline : ticks;
}
