using Asupersync.Guides.Snippets;
using Asupersync.Lab;
using Microsoft.Extensions.Hosting;

namespace Asupersync.Guides.Tests;

/// <summary>The guides' snippets do what their text says (in the Lab where time matters, on the real runtime otherwise).</summary>
public sealed class SnippetBehaviourTests
{
    private static T InLab<T>(Func<Cx, Task<T>> body, ulong seed = 1)
    {
        T result = default!;
        var r = LabRuntime.Run(seed, async cx => result = await body(cx));
        Assert.True(r.Passed, r.Describe());
        return result;
    }

    [Fact]
    public void SumAsync_AddsBoth() =>
        Assert.Equal(5, InLab(cx => FromTpl.SumAsync(cx, async cx => { await cx.YieldAsync(); return 2; }, cx => Task.FromResult(3))).Value);

    [Fact]
    public void SumAsync_FailureOfOne_CancelsTheOther()
    {
        var o = InLab(cx => FromTpl.SumAsync(cx,
            cx => throw new TaskErrorException("a failed"),
            async cx => { await cx.SleepAsync(TimeSpan.FromHours(1)); return 3; }));
        Assert.True(o.IsErr, o.ToString());
    }

    [Fact]
    public async Task TplBefore_StillWorksAsPlainTpl() =>
        Assert.Equal(5, await FromTpl.SumTplAsync(_ => Task.FromResult(2), _ => Task.FromResult(3), CancellationToken.None));

    [Fact]
    public void Timeout_FallsBack_OnVirtualTime() => Assert.Equal("fallback", InLab(Cookbook.WithTimeoutAsync));

    [Fact]
    public void Retry_SucceedsOnTheThirdAttempt() => Assert.Equal(3, InLab(Cookbook.WithRetriesAsync));

    [Fact]
    public void Pipeline_DeliversEveryItem()
    {
        for (ulong seed = 0; seed < 20; seed++) Assert.Equal(55, InLab(cx => Cookbook.PipelineAsync(cx, 10), seed));
    }

    [Fact]
    public void Poll_ReturnsWhenReady()
    {
        int calls = 0;
        InLab(async cx => { await FromTpl.PollAsync(cx, () => ++calls >= 3); return 0; });
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task Shutdown_CancelsAndDrainsTheWorker()
    {
        bool drained = false;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        var run = rt.RunAsync(cx => Cookbook.ServeUntilShutdownAsync(cx, async cx =>
        {
            started.TrySetResult();
            try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
            finally { drained = true; }
        }));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        rt.RequestShutdown();
        var o = await run.WaitAsync(TimeSpan.FromSeconds(60));
        // Ok when the region was already waiting for the signal; Cancelled(Shutdown) when the signal came first.
        Assert.True(o.IsOk || o.CancelReason?.Kind == CancelKind.Shutdown, o.ToString());
        Assert.True(drained);
    }

    [Fact]
    public async Task Hosting_StoppingTheHost_DrainsTheWorker()
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = HostingSnippet.BuildHost([], async cx =>
        {
            started.TrySetResult();
            try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
            finally { stopped.TrySetResult(); }
        });
        await host.StartAsync();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await host.StopAsync();
        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void LabSnippets_Pass()
    {
        LabTesting.Transfer_KeepsTheTotal_UnderAnyCancel();
        LabTesting.Transfers_AllInterleavings();
        LabTesting.OneSeed();
    }

    [Fact]
    public async Task BridgesTransaction_MovesTheMoney_AndCommits()
    {
        var cs = "Data Source=file:guides-bank-" + Guid.NewGuid().ToString("N") + "?mode=memory&cache=shared";
        await using var keep = new Microsoft.Data.Sqlite.SqliteConnection(cs);   // keeps the in-memory database alive
        await keep.OpenAsync();
        await using (var setup = keep.CreateCommand())
        {
            setup.CommandText = "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER); INSERT INTO accounts VALUES (1, 100), (2, 0);";
            await setup.ExecuteNonQueryAsync();
        }
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        var o = await rt.RunAsync(cx => BridgesData.TransferAsync(cx, cs)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(o.IsOk, o.ToString());
        await using var read = keep.CreateCommand();
        read.CommandText = "SELECT group_concat(balance) FROM (SELECT balance FROM accounts ORDER BY id)";
        Assert.Equal("90,10", (string?)await read.ExecuteScalarAsync());
    }

    [Fact]
    public void BridgesChannels_ForwardTheItem_ThenDrainBothSources()
    {
        var seen = InLab(async cx =>
        {
            var ch = System.Threading.Channels.Channel.CreateUnbounded<int>(new() { AllowSynchronousContinuations = true });
            ch.Writer.TryWrite(7);
            var forwarded = BridgesData.ChannelsAsync(cx, ch.Reader, ch.Writer, Three());
            await cx.YieldAsync();
            ch.Writer.Complete();
            return await forwarded;
        });
        Assert.Equal([7, 1, 2, 3], seen);
    }

    private static async IAsyncEnumerable<int> Three()
    {
        for (int i = 1; i <= 3; i++) { await Task.CompletedTask; yield return i; }
    }
}
