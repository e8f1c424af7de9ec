using System.CommandLine;
using Asupersync.Lab;
using Asupersync.Lab.Exploration;

namespace Asupersync.Cli;

/// <summary>
/// The <c>demo</c> command: a transfer that a cancel can leave half done, found by exploring schedules (it needs
/// many: the cancel must land in the one step between debit and credit), shown as an HTML timeline; then the fixed
/// transfer, where the step is an obligation committed with both halves at once, explored clean under the same budget.
/// </summary>
internal static class Demo
{
    private const int Bystanders = 3, TransferSteps = 4, OperatorSteps = 24, BystanderSteps = 8;

    /// <summary>Debits, then a step later credits; a cancel raised at that step leaves the money debited and not credited.</summary>
    internal static Task HalfDoneTransfer(Cx cx) => Transfer(cx, fixedVariant: false);

    /// <summary>The same transfer as an obligation: nothing moves until both halves are applied together and committed.</summary>
    internal static Task FixedTransfer(Cx cx) => Transfer(cx, fixedVariant: true);

    private static async Task Transfer(Cx cx, bool fixedVariant)
    {
        var debited = new LabVar<int>("debited");
        var credited = new LabVar<int>("credited");
        var writer = cx.Spawn("transfer", async cx =>
        {
            for (int i = 0; i < TransferSteps; i++) await cx.YieldAsync();
            if (!fixedVariant)
            {
                debited.Write(cx, 10);
                await cx.YieldAsync(); // a cancel raised here leaves the transfer half done
                credited.Write(cx, 10);
                return;
            }
            using var step = cx.Reserve(ObligationKind.Custom, "transfer 10: debit and credit");
            await cx.YieldAsync(); // a cancel raised here aborts the obligation: nothing has moved
            debited.Write(cx, 10);
            credited.Write(cx, 10);
            step.Commit();
        });
        var canceller = cx.Spawn("operator", async cx =>
        {
            for (int i = 0; i < OperatorSteps; i++) await cx.YieldAsync();
            writer.Cancel(message: "operator pressed stop");
        });
        var others = Enumerable.Range(0, Bystanders).Select(b => cx.Spawn($"bystander-{b}", async cx =>
        {
            for (int i = 0; i < BystanderSteps; i++) await cx.YieldAsync();
        })).ToList();
        await writer.JoinAsync(cx);
        await canceller.JoinAsync(cx);
        foreach (var o in others) await o.JoinAsync(cx);
        if (debited.Value != credited.Value) throw new InvalidOperationException($"half-done transfer: debited {debited.Value}, credited {credited.Value}");
    }

    internal static int Run(Cli cli, ParseResult pr, string dir, int maxSchedules)
    {
        if (maxSchedules < 1) throw new CliException(ExitCodes.BadOptions, "--max-schedules must be at least 1");
        Directory.CreateDirectory(dir);
        var display = cli.ProgressFor(pr);
        var buggy = display.Run("demo: the half-done transfer", maxSchedules, update => LabRuntime.Explore(HalfDoneTransfer, Options("demo-half-done-transfer", dir, maxSchedules, display, update)));
        var fixedRun = display.Run("demo: the fixed transfer", maxSchedules, update => LabRuntime.Explore(FixedTransfer, Options("demo-fixed-transfer", dir, maxSchedules, display, update)));
        string? json = null, html = null;
        if (buggy.FirstFailure is { } failure)
        {
            json = failure.SaveTrace(path: Path.Combine(dir, "demo-trace.json"));
            html = Path.Combine(dir, "demo-trace.html");
            failure.Trace.SaveHtml(html, "Demo: a cancel between debit and credit");
        }
        bool ok = buggy.FirstFailure is not null && fixedRun.FirstFailure is null;
        if (cli.JsonFor(pr))
        {
            cli.Json(w =>
            {
                w.WriteString("command", "demo");
                w.WriteBoolean("bugFound", buggy.FirstFailure is not null);
                w.WriteNumber("schedulesToFind", buggy.FirstFailureSchedule);
                w.WriteNumber("classesSeen", buggy.DistinctClasses);
                if (json is null) w.WriteNull("trace");
                else w.WriteString("trace", json);
                if (html is null) w.WriteNull("html");
                else w.WriteString("html", html);
                w.WriteBoolean("fixedClean", fixedRun.FirstFailure is null);
                w.WriteNumber("fixedSchedules", fixedRun.Schedules);
                w.WriteString("fixedStop", fixedRun.StopReason);
            });
        }
        else
        {
            var o = cli.Out;
            o.WriteLine("1. The transfer debits, yields once, then credits; an operator cancels it after a while; three bystanders run beside.");
            if (buggy.FirstFailure is { } f)
            {
                o.WriteLine($"   found after {buggy.FirstFailureSchedule} schedules ({buggy.FirstFailureStrategy}; {buggy.DistinctClasses} interleaving classes seen): the cancel landed between debit and credit.");
                o.WriteLine("   " + (f.FirstFailure?.Message ?? f.Outcome?.ToString()));
                o.WriteLine("   trace:    " + json);
                o.WriteLine("   timeline: " + html);
            }
            else
            {
                o.WriteLine($"   NOT found in {buggy.Schedules} schedules (stopped: {buggy.StopReason}).");
            }
            o.WriteLine("2. Fixed: the step is an obligation, debit and credit applied together and committed; a cancel aborts it with nothing moved.");
            o.WriteLine(fixedRun.FirstFailure is null
                ? $"   clean: {fixedRun.Schedules} schedules, {fixedRun.DistinctClasses} classes, stopped: {fixedRun.StopReason}."
                : $"   FAILED: {fixedRun.FirstFailure.Describe()}");
        }
        return ok ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static ExploreOptions Options(string name, string dir, int max, ProgressDisplay display, Action<double, string, bool> update) => new()
    {
        MaxSchedules = max,
        MaxWallTime = TimeSpan.FromMinutes(5),
        Lab = new LabOptions { ProgramName = name, TraceDirectory = dir, AcceptErr = false },
        Progress = p => update(p.Schedules, Cli.ExploreProgressText(p), p.Finished),
        ProgressInterval = display.Interval,
    };
}
