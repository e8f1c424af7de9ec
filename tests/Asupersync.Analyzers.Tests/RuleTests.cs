using static Asupersync.Analyzers.Tests.AnalyzerHarness;

namespace Asupersync.Analyzers.Tests;

public sealed class RuleTests
{
    [Fact]
    public Task AmbientClock_InATaskBody_IsReported() => VerifyAsync("""
        static class P
        {
            static Task Body(Cx cx)
            {
                var a = {|ASY0001:DateTime.Now|};
                var b = {|ASY0001:DateTimeOffset.UtcNow|};
                var c = {|ASY0001:Environment.TickCount64|};
                return Task.CompletedTask;
            }
        }
        """);

    [Fact]
    public Task AmbientClock_OutsideRuntimeManagedCode_IsNotReported() => VerifyAsync("""
        static class P
        {
            static DateTime Stamp() => DateTime.UtcNow;
            static Func<int, DateTime> F = _ => DateTime.Now;
        }
        """);

    [Fact]
    public Task AmbientClock_InALambdaTakingCx_IsReported() => VerifyAsync("""
        static class P
        {
            static Func<Cx, Task> Body = async cx => { await cx.YieldAsync(); var t = {|ASY0001:DateTime.UtcNow|}; };
        }
        """);

    [Fact]
    public Task DelaysAndSleeps_AreReported() => VerifyAsync("""
        static class P
        {
            static async Task Body(Cx cx)
            {
                await {|ASY0002:Task.Delay(10)|};
                {|ASY0002:Thread.Sleep(10)|};
                await cx.SleepAsync(TimeSpan.FromMilliseconds(10));
            }
        }
        """);

    [Fact]
    public Task UnstructuredSpawns_AreReported() => VerifyAsync("""
        static class P
        {
            static async Task Body(Cx cx)
            {
                await {|ASY0003:Task.Run(() => { })|};
                await {|ASY0003:Task.Factory.StartNew(() => { })|};
                {|ASY0003:ThreadPool.QueueUserWorkItem(_ => { })|};
                var t = {|ASY0003:new Thread(() => { })|};
                await cx.Spawn("child", cx => Task.CompletedTask).JoinAsync(cx);
            }
        }
        """);

    [Fact]
    public Task AmbientRandomness_IsReported() => VerifyAsync("""
        static class P
        {
            static Task Body(Cx cx)
            {
                int a = {|ASY0004:Random.Shared|}.Next(6);
                var r = {|ASY0004:new Random()|};
                int b = cx.NextRandom(6);
                return Task.CompletedTask;
            }
        }
        """);

    [Fact]
    public Task ConfigureAwaitFalse_IsReported_ButTrueIsNot() => VerifyAsync("""
        static class P
        {
            static async Task Body(Cx cx, Task other)
            {
                await {|ASY0005:other.ConfigureAwait(false)|};
                await other.ConfigureAwait(true);
            }
        }
        """);

    [Fact]
    public Task RawSockets_AreReported() => VerifyAsync("""
        using System.Net.Sockets;
        static class P
        {
            static Task Body(Cx cx)
            {
                using var s = {|ASY0006:new Socket(SocketType.Stream, ProtocolType.Tcp)|};
                using var c = {|ASY0006:new TcpClient()|};
                return Task.CompletedTask;
            }
        }
        """);

    [Fact]
    public Task ObligationNeverResolved_IsReported_ResolvedOnesAreNot() => VerifyAsync("""
        static class P
        {
            static Task Body(Cx cx, bool flag)
            {
                var {|ASY0007:leaked|} = cx.Reserve(ObligationKind.Custom, "never resolved");
                var onlyRead = cx.Reserve(ObligationKind.Custom, "read");
                _ = onlyRead.State;
                onlyRead.Commit();
                var committed = cx.Reserve(ObligationKind.Custom, "committed");
                if (flag) committed.Commit(); else committed.Abort();
                using var disposed = cx.Reserve(ObligationKind.Custom, "disposed");
                var handedOn = cx.Reserve(ObligationKind.Custom, "handed on");
                Keep(handedOn);
                {|ASY0007:cx.Reserve(ObligationKind.Custom, "discarded")|};
                return Task.CompletedTask;
            }

            static void Keep(Obligation o) => o.Dispose();
        }
        """);

    [Fact]
    public Task PermitNeverSent_IsReported() => VerifyAsync("""
        static class P
        {
            static async Task Body(Cx cx, Sender<int> tx)
            {
                var {|ASY0007:permit|} = await tx.ReserveAsync(cx);
                var sent = await tx.ReserveAsync(cx);
                sent.Send(1);
            }
        }
        """);

    [Fact]
    public Task CxCapturedIntoAChildTask_IsReported() => VerifyAsync("""
        static class P
        {
            static async Task Body(Cx outer)
            {
                var child = outer.Spawn("child", async inner =>
                {
                    await {|ASY0008:outer|}.SleepAsync(TimeSpan.FromSeconds(1));
                    await inner.SleepAsync(TimeSpan.FromSeconds(1));
                });
                await child.JoinAsync(outer);
            }
        }
        """);

    [Fact]
    public Task ShadowedCx_IsTheTasksOwn_AndNotReported() => VerifyAsync("""
        static class P
        {
            static Task<Outcome<Unit>> Body(Cx cx) => cx.RegionAsync("app", async cx =>
            {
                var w = cx.Spawn("worker", async cx => await cx.SleepAsync(TimeSpan.FromSeconds(1)));
                await w.JoinAsync(cx);
            });
        }
        """);
}
