using System.Globalization;

namespace Asupersync.Lab.Campaigns;

/// <summary>
/// One shard of a campaign split across processes or machines: shard <see cref="Index"/> of <see cref="Count"/>
/// runs the run indices i with i mod Count = Index. Shards share nothing and write one result file each;
/// <see cref="CampaignResult.Merge"/> combines them.
/// </summary>
/// <param name="Index">The shard's index, 0 ≤ Index &lt; Count.</param>
/// <param name="Count">How many shards the campaign is split into (≥ 1).</param>
public readonly record struct CampaignShard(int Index, int Count)
{
    /// <summary>The whole campaign in one process.</summary>
    public static CampaignShard Single => new(0, 1);

    /// <summary>Environment variable holding the shard as <c>i/n</c>.</summary>
    public const string ShardVariable = "ASUPERSYNC_SHARD";

    /// <summary>Environment variable holding the shard index (for example a CI matrix's job index).</summary>
    public const string IndexVariable = "ASUPERSYNC_SHARD_INDEX";

    /// <summary>Environment variable holding the shard count (for example a CI matrix's job total, or a Kubernetes Job's completions).</summary>
    public const string CountVariable = "ASUPERSYNC_SHARD_COUNT";

    /// <summary>The variable a Kubernetes Indexed Job sets in each pod to the pod's completion index.</summary>
    public const string KubernetesIndexVariable = "JOB_COMPLETION_INDEX";

    /// <summary>True for the single-shard campaign.</summary>
    public bool IsSingle => Count == 1;

    /// <summary>Checks the fields.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Count &lt; 1 or Index outside [0, Count).</exception>
    public void Validate()
    {
        if (Count < 1) throw new ArgumentOutOfRangeException(nameof(Count), Count, "A campaign has at least one shard.");
        if (Index < 0 || Index >= Count) throw new ArgumentOutOfRangeException(nameof(Index), Index, $"A shard index is in [0, {Count}).");
    }

    /// <summary>Parses <c>i/n</c> (for example <c>0/4</c>).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The shard.</returns>
    /// <exception cref="FormatException">The text is not <c>i/n</c> with 0 ≤ i &lt; n.</exception>
    public static CampaignShard Parse(string text) =>
        TryParse(text, out var shard) ? shard : throw new FormatException($"'{text}' is not a shard: expected i/n with 0 <= i < n, for example 0/4.");

    /// <summary>Parses <c>i/n</c>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="shard">The shard, when the text is valid.</param>
    /// <returns>Whether the text is valid.</returns>
    public static bool TryParse(string? text, out CampaignShard shard)
    {
        shard = default;
        if (text is null) return false;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0) return false;
        if (!int.TryParse(text.AsSpan(0, slash).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int i)) return false;
        if (!int.TryParse(text.AsSpan(slash + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n)) return false;
        if (n < 1 || i >= n) return false;
        shard = new CampaignShard(i, n);
        return true;
    }

    /// <summary>
    /// The shard named by the environment, or null when it names none. In order: <c>ASUPERSYNC_SHARD=i/n</c>; else
    /// the index from <c>ASUPERSYNC_SHARD_INDEX</c> or, in a Kubernetes Indexed Job, <c>JOB_COMPLETION_INDEX</c>,
    /// with the count from <c>ASUPERSYNC_SHARD_COUNT</c> (Kubernetes does not expose the Job's completions to the pod,
    /// so the manifest sets it next to them; GitHub Actions exposes <c>strategy.job-index</c> and
    /// <c>strategy.job-total</c>, which a workflow maps to the two variables).
    /// </summary>
    /// <param name="getVariable">Reads a variable (default: the process environment).</param>
    /// <returns>The shard, or null.</returns>
    /// <exception cref="FormatException">The variables are present but malformed or inconsistent (an index without a count, an index ≥ count).</exception>
    public static CampaignShard? FromEnvironment(Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        if (getVariable(ShardVariable) is { Length: > 0 } both)
            return TryParse(both, out var s) ? s : throw new FormatException($"{ShardVariable}='{both}' is not i/n with 0 <= i < n.");
        string? indexName = getVariable(IndexVariable) is { Length: > 0 } ? IndexVariable
            : getVariable(KubernetesIndexVariable) is { Length: > 0 } ? KubernetesIndexVariable : null;
        string? countText = getVariable(CountVariable);
        if (indexName is null)
        {
            if (countText is { Length: > 0 }) throw new FormatException($"{CountVariable} is set but no shard index is ({IndexVariable} or {KubernetesIndexVariable}).");
            return null;
        }
        string indexText = getVariable(indexName)!;
        if (countText is not { Length: > 0 })
            throw new FormatException($"{indexName}={indexText} gives the shard index but {CountVariable} is not set: set it to the number of shards (the Job's completions, or the matrix size).");
        if (!TryParse(indexText + "/" + countText, out var shard))
            throw new FormatException($"{indexName}={indexText} with {CountVariable}={countText} is not a shard: need 0 <= index < count.");
        return shard;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Index}/{Count}";
}
