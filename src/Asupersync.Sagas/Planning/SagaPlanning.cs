namespace Asupersync.Sagas;

/// <summary>How a saga's steps are grouped into stages.</summary>
public enum SagaPlanning
{
    /// <summary>
    /// The CALM plan (default): each run of consecutive monotone steps is one stage whose steps run concurrently
    /// with no barrier between them; each non-monotone step is a stage of its own with a barrier before it.
    /// </summary>
    Calm,

    /// <summary>Every step is its own stage, in declaration order (what a saga without the CALM analysis does).</summary>
    Sequential,
}
