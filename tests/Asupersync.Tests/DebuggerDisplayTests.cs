using System.Diagnostics;

namespace Asupersync.Tests;

/// <summary>What a debugger (and a log line) shows for the public handles: names, state and the cancel's kind.</summary>
public class DebuggerDisplayTests
{
    [Fact]
    public async Task Handles_ShowNameStateAndCancelKind()
    {
        string? whileDraining = null, obligation = null;
        var o = await TestRuntime.RunAsync(async cx =>
        {
            var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var conn = cx.Spawn("conn", async cx =>
            {
                var ob = cx.Reserve(ObligationKind.Ack, "reply");
                obligation = ob.ToString();
                ob.Commit();
                try { await cx.SleepAsync(TimeSpan.FromHours(1)); }
                finally { await drained.Task; }   // stays in its drain until the handle was looked at
            });
            await cx.WaitStartedAsync(conn);
            await cx.YieldAsync();
            conn.Cancel(new CancelReason(CancelKind.Shutdown, "stop", cx.Now), Budget.Timeout(TimeSpan.FromSeconds(30)));
            while (conn.State == TaskState.Running || conn.State == TaskState.CancelRequested) await cx.YieldAsync();
            whileDraining = conn.ToString();
            drained.SetResult();
            await conn.JoinAsync(cx);
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Matches(@"^Task \d+ 'conn' \(Cancelling, Shutdown\)", whileDraining);
        Assert.Matches(@"^Obligation \d+ Ack 'reply' Reserved, held by task \d+ 'conn'$", obligation);
    }

    [Theory]
    [InlineData(typeof(Cx))]
    [InlineData(typeof(TaskHandle<>))]
    [InlineData(typeof(Outcome<>))]
    [InlineData(typeof(Obligation))]
    public void PublicHandles_DisplayTheirToString(Type type)
    {
        var a = (DebuggerDisplayAttribute?)Attribute.GetCustomAttribute(type, typeof(DebuggerDisplayAttribute));
        Assert.Equal("{ToString(),nq}", a?.Value);
    }
}
