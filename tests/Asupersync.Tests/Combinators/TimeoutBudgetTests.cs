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

    [Fact]
    public void Retry_OverallTimeout_IsEachAttemptsBudget_AndCutsTheAttemptStillRunning() => RunLab(async cx =>
    {
        var start = cx.Now;
        var seen = new List<TimeSpan?>();
        int attempts = 0;
        var policy = new RetryPolicy { MaxAttempts = 10, InitialBackoff = TimeSpan.FromMilliseconds(100), Timeout = TimeSpan.FromSeconds(3) };
        var o = await cx.RetryAsync<int>(async cx =>
        {
            attempts++;
            seen.Add(cx.Budget.Deadline);
            var inner = await cx.RegionAsync("call", cx => Task.FromResult(cx.Budget.Deadline)); // what a nested call sees
            seen.Add(inner.Value);
            if (attempts < 3) throw new TaskErrorException("flaky");
            await cx.SleepAsync(TimeSpan.FromHours(1)); // the third attempt hangs: cut at the overall budget
            return 1;
        }, policy);
        Assert.True(o.IsTimedOut(), o.ToString());
        Assert.Equal(3, attempts);
        Assert.Equal(6, seen.Count);
        Assert.All(seen, d => Assert.Equal(start + TimeSpan.FromSeconds(3), d));
        Assert.Equal(start + TimeSpan.FromSeconds(3), cx.Now);
    });

    [Fact]
    public void Retry_OverallTimeout_MeetsTheCallersTighterDeadline_WhichIsNotReportedAsItsTimeout() => RunLab(async cx =>
    {
        var start = cx.Now;
        TimeSpan? seen = null;
        var outer = await cx.TimeoutAsync(TimeSpan.FromSeconds(1), async cx =>
        {
            var r = await cx.RetryAsync<int>(async cx =>
            {
                seen = cx.Budget.Deadline;
                await cx.SleepAsync(TimeSpan.FromHours(1));
                return 1;
            }, new RetryPolicy { Timeout = TimeSpan.FromSeconds(10) });
            return r.GetValueOrThrow();
        });
        Assert.Equal(start + TimeSpan.FromSeconds(1), seen);
        Assert.True(outer.IsTimedOut(), outer.ToString()); // the caller's 1 s fired, not the retry's 10 s
        Assert.Equal(start + TimeSpan.FromSeconds(1), cx.Now);
    });

    [Fact]
    public void Retry_StopsWhenThePauseAndAnotherAttemptAsLongAsTheLastCannotFit() => RunLab(async cx =>
    {
        var start = cx.Now;
        int attempts = 0;
        // Each attempt takes 1 s and fails; pauses of 100 ms; overall 3 s. Attempt 1 ends at 1 s (1.1 + 1 = 2.1 fits),
        // attempt 2 ends at 2.1 s (2.2 + 1 = 3.2 does not): the retry returns attempt 2's error at 2.1 s instead of
        // starting an attempt that the budget would cut.
        var policy = new RetryPolicy { MaxAttempts = 10, InitialBackoff = TimeSpan.FromMilliseconds(100), BackoffMultiplier = 1, Timeout = TimeSpan.FromSeconds(3) };
        var o = await cx.RetryAsync<int>(async cx =>
        {
            attempts++;
            await cx.SleepAsync(TimeSpan.FromSeconds(1));
            throw new TaskErrorException("down " + attempts);
        }, policy);
        Assert.True(o.IsErr, o.ToString());
        Assert.Contains("down 2", o.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(2, attempts);
        Assert.Equal(start + TimeSpan.FromMilliseconds(2100), cx.Now);
    });

    [Fact]
    public void Hedge_BranchesSeeTheDeadlineInForce_AndABackupWhoseDelayEndsPastItNeverStarts() => RunLab(async cx =>
    {
        var start = cx.Now;
        TimeSpan? primarySaw = null, backupSaw = null;
        bool backupStarted = false;
        var o = await cx.TimeoutAsync(TimeSpan.FromSeconds(2), async cx =>
        {
            var fast = await cx.HedgeAsync(TimeSpan.FromMilliseconds(500),
                async cx => { primarySaw = cx.Budget.Deadline; await cx.SleepAsync(TimeSpan.FromSeconds(1)); return "primary"; },
                cx => { backupSaw = cx.Budget.Deadline; return Task.FromResult("backup"); });
            var slow = await cx.HedgeAsync(TimeSpan.FromSeconds(5),
                async cx => { await cx.SleepAsync(TimeSpan.FromHours(1)); return "primary"; },
                cx => { backupStarted = true; return Task.FromResult("backup"); });
            return (fast.Value, slow.IsCancelled);
        });
        Assert.Equal(start + TimeSpan.FromSeconds(2), primarySaw);
        Assert.Equal(start + TimeSpan.FromSeconds(2), backupSaw);   // the backup ran at 0.5 s and won
        Assert.True(o.IsTimedOut(), o.ToString());                  // the second hedge hit the 2 s limit...
        Assert.False(backupStarted);                                // ...before its 5 s delay: no backup
        Assert.Equal(start + TimeSpan.FromSeconds(2), cx.Now);
    });
}
