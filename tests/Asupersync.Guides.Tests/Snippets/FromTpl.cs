using Asupersync;

namespace Asupersync.Guides.Snippets;

public static class FromTpl
{
    // <snippet tpl-before>
    // TPL: the caller must remember to pass the token, to await both tasks, and to observe the failure of the other.
    public static async Task<int> SumTplAsync(Func<CancellationToken, Task<int>> a, Func<CancellationToken, Task<int>> b, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var ta = a(cts.Token);
        var tb = b(cts.Token);
        try { return await ta + await tb; }
        catch { cts.Cancel(); throw; } // and tb may still be running when this returns
    }
    // </snippet>

    // <snippet tpl-after>
    // Asupersync: both run in a region; the region returns only when both have ended, and a failure of one
    // cancels the other (fail-fast) and is reported in the outcome.
    public static Task<Outcome<int>> SumAsync(Cx cx, Func<Cx, Task<int>> a, Func<Cx, Task<int>> b) =>
        cx.RegionAsync("sum", async cx =>
        {
            var ta = cx.Spawn("a", a);
            var tb = cx.Spawn("b", b);
            return await ta.ValueAsync(cx) + await tb.ValueAsync(cx);
        });
    // </snippet>

    // <snippet tpl-token-bridge>
    // A .NET API that takes a CancellationToken: pass cx.CancellationToken, and await through cx.AwaitAsync so the
    // await is a checkpoint of the cancel protocol.
    public static async Task<string> ReadConfigAsync(Cx cx, string path) =>
        await cx.AwaitAsync(File.ReadAllTextAsync(path, cx.CancellationToken));
    // </snippet>

    // <snippet tpl-delay>
    public static async Task PollAsync(Cx cx, Func<bool> ready)
    {
        while (!ready())
            await cx.SleepAsync(TimeSpan.FromMilliseconds(100)); // not Task.Delay: a checkpoint, on virtual time in the Lab
    }
    // </snippet>
}
