using static Asupersync.Analyzers.Tests.AnalyzerHarness;

namespace Asupersync.Analyzers.Tests;

public sealed class CodeFixTests
{
    [Fact]
    public Task DateTimeUtcNow_BecomesTheRuntimeClock() => VerifyFixAsync("""
        static class P
        {
            static Task Body(Cx ctx) { var t = {|ASY0001:DateTime.UtcNow|}; return Task.CompletedTask; }
        }
        """, """
        static class P
        {
            static Task Body(Cx ctx) { var t = ctx.UtcNow.UtcDateTime; return Task.CompletedTask; }
        }
        """);

    [Fact]
    public Task DateTimeOffsetUtcNow_BecomesCxUtcNow() => VerifyFixAsync("""
        static class P
        {
            static Task Body(Cx cx) { DateTimeOffset t = {|ASY0001:DateTimeOffset.UtcNow|}; return Task.CompletedTask; }
        }
        """, """
        static class P
        {
            static Task Body(Cx cx) { DateTimeOffset t = cx.UtcNow; return Task.CompletedTask; }
        }
        """);

    [Fact]
    public Task AwaitedTaskDelay_BecomesSleepAsync() => VerifyFixAsync("""
        static class P
        {
            static async Task Body(Cx cx) => await {|ASY0002:Task.Delay(TimeSpan.FromSeconds(1))|};
        }
        """, """
        static class P
        {
            static async Task Body(Cx cx) => await cx.SleepAsync(TimeSpan.FromSeconds(1));
        }
        """);

    [Fact]
    public Task TaskDelayInMilliseconds_BecomesSleepAsyncOfATimeSpan() => VerifyFixAsync("""
        static class P
        {
            static async Task Body(Cx cx) => await {|ASY0002:Task.Delay(250)|};
        }
        """, """
        static class P
        {
            static async Task Body(Cx cx) => await cx.SleepAsync(System.TimeSpan.FromMilliseconds(250));
        }
        """);

    [Fact]
    public Task RandomSharedNext_BecomesNextRandom() => VerifyFixAsync("""
        static class P
        {
            static Task Body(Cx cx) { int d = {|ASY0004:Random.Shared|}.Next(6); return Task.CompletedTask; }
        }
        """, """
        static class P
        {
            static Task Body(Cx cx) { int d = cx.NextRandom(6); return Task.CompletedTask; }
        }
        """);

    [Fact]
    public Task ConfigureAwaitFalse_IsRemoved() => VerifyFixAsync("""
        static class P
        {
            static async Task Body(Cx cx, Task other) => await {|ASY0005:other.ConfigureAwait(false)|};
        }
        """, """
        static class P
        {
            static async Task Body(Cx cx, Task other) => await other;
        }
        """);

    [Fact]
    public Task UnresolvedObligation_GetsAUsingDeclaration() => VerifyFixAsync("""
        static class P
        {
            static Task Body(Cx cx)
            {
                var {|ASY0007:o|} = cx.Reserve(ObligationKind.Custom, "x");
                return Task.CompletedTask;
            }
        }
        """, """
        static class P
        {
            static Task Body(Cx cx)
            {
                using var o = cx.Reserve(ObligationKind.Custom, "x");
                return Task.CompletedTask;
            }
        }
        """);

    [Fact]
    public Task CapturedCx_IsReplacedByTheTasksOwn() => VerifyFixAsync("""
        static class P
        {
            static TaskHandle<Unit> Body(Cx outer) =>
                outer.Spawn("child", async inner => await {|ASY0008:outer|}.SleepAsync(TimeSpan.FromSeconds(1)));
        }
        """, """
        static class P
        {
            static TaskHandle<Unit> Body(Cx outer) =>
                outer.Spawn("child", async inner => await inner.SleepAsync(TimeSpan.FromSeconds(1)));
        }
        """);
}
