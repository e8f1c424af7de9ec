using Asupersync.Lab;

namespace Asupersync.Tests.Combinators;

/// <summary>
/// Issue 21 item 1: a timeout's limit is the body's budget, so everything inside sees the tightest deadline in
/// force. All under the Lab's virtual clock (no wall-clock luck), across a few seeds.
/// </summary>
public class TimeoutBudgetTests
{
    private static readonly ulong[] Seeds = [1, 2, 3, 17, 99];

    private static void RunLab(Func<Cx, Task> body)
    {
        foreach (var seed in Seeds)
        {
            var r = LabRuntime.Run(seed, body);
            Assert.True(r.Passed, r.Describe());
        }
    }

    [Fact]
    public void Timeout_LimitIsTheBodysBudgetDeadline() => RunLab(async cx =>
    {
        var start = cx.Now;
        var o = await cx.TimeoutAsync(TimeSpan.FromSeconds(5), cx => Task.FromResult(cx.Budget.Deadline));
        Assert.Equal(start + TimeSpan.FromSeconds(5), o.Value);
    });

    [Fact]
    public void Timeout_ChildRegionAndNestedTimeout_InheritTheTighterDeadline() => RunLab(async cx =>
    {
        var start = cx.Now;
        var o = await cx.TimeoutAsync(TimeSpan.FromSeconds(2), async cx =>
        {
            // A looser nested timeout cannot extend the outer limit; a child region inherits it.
            var inner = await cx.TimeoutAsync(TimeSpan.FromSeconds(10), cx => Task.FromResult(cx.Budget.Deadline));
            var region = await cx.RegionAsync("child", cx => Task.FromResult(cx.Budget.Deadline));
            // A tighter one wins inside.
            var tighter = await cx.TimeoutAsync(TimeSpan.FromSeconds(1), cx => Task.FromResult(cx.Budget.Deadline));
            return (inner.Value, region.Value, tighter.Value);
        });
        Assert.Equal(start + TimeSpan.FromSeconds(2), o.Value.Item1);
        Assert.Equal(start + TimeSpan.FromSeconds(2), o.Value.Item2);
        Assert.Equal(start + TimeSpan.FromSeconds(1), o.Value.Item3);
    });

    [Fact]
    public void Timeout_LooserNestedTimeout_IsCutByTheOuterLimit_AndOnlyTheOuterReportsItsLimit() => RunLab(async cx =>
    {
        var start = cx.Now;
        Outcome<int> inner = default;
        var outer = await cx.TimeoutAsync(TimeSpan.FromSeconds(2), async cx =>
        {
            inner = await cx.TimeoutAsync(TimeSpan.FromSeconds(10), async cx =>
            {
                await cx.SleepAsync(TimeSpan.FromHours(1));
                return 1;
            });
            return inner.IsCancelled ? -1 : inner.Value;
        });
        Assert.True(outer.IsTimedOut(), outer.ToString());
        Assert.True(inner.IsCancelled, inner.ToString());
        Assert.Equal(start + TimeSpan.FromSeconds(2), cx.Now); // cut at the outer limit, not the inner one
    });

    [Fact]
    public void Retry_InsideTimeout_StopsWhenTheRemainingTimeCannotFitTheNextPause() => RunLab(async cx =>
    {
        var start = cx.Now;
        int attempts = 0;
        var policy = new RetryPolicy { MaxAttempts = 10, InitialBackoff = TimeSpan.FromSeconds(1), BackoffMultiplier = 2 };
        var o = await cx.TimeoutAsync(TimeSpan.FromMilliseconds(1500), async cx =>
        {
            var r = await cx.RetryAsync<int>(cx =>
            {
                attempts++;
                throw new TaskErrorException("flaky");
            }, policy);
            return r.GetValueOrThrow();
        });
        // Attempt 1 at 0 s, pause 1 s fits; attempt 2 at 1 s, pause 2 s would end past the limit: stop with the
        // last error instead of sleeping into the timeout.
        Assert.Equal(2, attempts);
        Assert.True(o.IsErr, o.ToString());
        Assert.False(o.IsTimedOut());
        Assert.Equal(start + TimeSpan.FromSeconds(1), cx.Now);
    });
}
