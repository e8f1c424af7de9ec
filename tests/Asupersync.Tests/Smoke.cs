namespace Asupersync.Tests;

public class SmokeTests
{
    [Fact]
    public async Task Root_ReturnsValue()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        var o = await rt.RunAsync(async cx =>
        {
            var h = cx.Spawn("child", async cx => { await cx.SleepAsync(TimeSpan.FromMilliseconds(5)); return 41; });
            var r = await h.JoinAsync(cx);
            return r.Value + 1;
        });
        Assert.Equal(42, o.Value);
    }
}
