using Asupersync;
using Asupersync.Lab;

namespace Asupersync.Guides.Snippets;

// <snippet lab-account>
// The code under test: a transfer that must never be half done.
public sealed class Accounts
{
    private readonly Dictionary<string, int> _balances = new() { ["a"] = 100, ["b"] = 0 };

    public int Total => _balances.Values.Sum();

    public async Task TransferAsync(Cx cx, string from, string to, int amount)
    {
        using var step = cx.Reserve(ObligationKind.Custom, $"transfer {amount} {from}->{to}");
        await cx.SleepAsync(TimeSpan.FromMilliseconds(1));   // e.g. a remote check: a cancel may land here
        _balances[from] -= amount;                            // no await between the two writes
        _balances[to] += amount;
        step.Commit();
    }
}
// </snippet>

public static class LabTesting
{
    // <snippet lab-test>
    public static void Transfer_KeepsTheTotal_UnderAnyCancel()
    {
        LabTest.ForSeeds(50, async cx =>
        {
            var accounts = new Accounts();
            var t = cx.Spawn("transfer", cx => accounts.TransferAsync(cx, "a", "b", 30));
            await cx.SleepAsync(TimeSpan.FromMilliseconds(cx.NextRandom(3)));  // the cancel lands before, during or after
            t.Cancel();
            await t.JoinAsync(cx);
            if (accounts.Total != 100) throw new InvalidOperationException($"money lost: {accounts.Total}");
        });
    }
    // </snippet>

    // <snippet lab-explore>
    public static void Transfers_AllInterleavings()
    {
        var result = LabTest.Explore(async cx =>
        {
            var accounts = new Accounts();
            var t1 = cx.Spawn("t1", cx => accounts.TransferAsync(cx, "a", "b", 30));
            var t2 = cx.Spawn("t2", cx => accounts.TransferAsync(cx, "b", "a", 10));
            await t1.JoinAsync(cx);
            await t2.JoinAsync(cx);
            if (accounts.Total != 100) throw new InvalidOperationException("money lost");
        });
        // result.Schedules runs were explored, each interleaving class once; any failure threw with a replay hint.
    }
    // </snippet>

    // <snippet lab-replay>
    public static void OneSeed()
    {
        var r = LabRuntime.Run(seed: 42, async cx => await cx.SleepAsync(TimeSpan.FromSeconds(1)));
        if (!r.Passed) throw new InvalidOperationException(r.Describe()); // seed, oracle, trace file, replay command
        // r.VirtualTime is 1 s although the run took microseconds: the Lab's clock is virtual.
    }
    // </snippet>
}
