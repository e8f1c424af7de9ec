using Asupersync.Lab;

namespace Asupersync.Lab.Tests;

/// <summary>Small Lab programs shared by the tests.</summary>
internal static class Programs
{
    /// <summary>Three workers, each doing <paramref name="steps"/> yields, joined by the root.</summary>
    internal static Func<Cx, Task> Workers(int workers, int steps, List<string>? log = null) => async cx =>
    {
        var handles = new List<TaskHandle<Unit>>();
        for (int w = 0; w < workers; w++)
        {
            int id = w;
            handles.Add(cx.Spawn($"w{id}", async cx =>
            {
                for (int i = 0; i < steps; i++)
                {
                    log?.Add($"w{id}.{i}");
                    await cx.YieldAsync();
                }
            }));
        }
        foreach (var h in handles) await h.JoinAsync(cx);
    };

    /// <summary>
    /// Two tasks each do read – yield – write on one shared counter. With the yield between read and write an
    /// interleaving loses an update; <paramref name="fixedVariant"/> does read and write in one step.
    /// </summary>
    internal static Func<Cx, Task> LostUpdate(bool fixedVariant) => async cx =>
    {
        var counter = new LabVar<int>("counter");
        var a = cx.Spawn("inc-a", cx => Increment(cx, counter, fixedVariant));
        var b = cx.Spawn("inc-b", cx => Increment(cx, counter, fixedVariant));
        await a.JoinAsync(cx);
        await b.JoinAsync(cx);
        if (counter.Value != 2) throw new InvalidOperationException($"lost update: counter is {counter.Value}, expected 2");
    };

    private static async Task Increment(Cx cx, LabVar<int> counter, bool fixedVariant)
    {
        if (fixedVariant)
        {
            await cx.YieldAsync();
            counter.Write(cx, counter.Read(cx) + 1);
            return;
        }
        int v = counter.Read(cx);
        await cx.YieldAsync();
        counter.Write(cx, v + 1);
    }

    /// <summary>
    /// A producer reserves an obligation and commits it only if a flag set by another task is still clear when it
    /// resumes: only the interleaving where the flag is set between reserve and commit leaks it.
    /// </summary>
    internal static Func<Cx, Task> LeakOnOneInterleaving(bool fixedVariant) => async cx =>
    {
        var flag = new LabVar<bool>("flag");
        var producer = cx.Spawn("producer", async cx =>
        {
            var ob = cx.Reserve(ObligationKind.Custom, "publish");
            await cx.YieldAsync();
            if (!flag.Read(cx)) ob.Commit();
            else if (fixedVariant) ob.Abort("flag was set");
            // else: forgot the obligation on this path
        });
        var setter = cx.Spawn("setter", async cx =>
        {
            await cx.YieldAsync();
            flag.Write(cx, true);
        });
        await producer.JoinAsync(cx);
        await setter.JoinAsync(cx);
    };

    /// <summary>
    /// A writer performs a two-step effect (debit, then credit) with a yield in between, while a canceller cancels
    /// it. Plain code leaves the effect half done when the cancel lands between the steps; the fixed variant
    /// reserves an obligation and applies both halves only on commit.
    /// </summary>
    internal static Func<Cx, Task> CancelBetweenReserveAndCommit(bool fixedVariant) => async cx =>
    {
        var debited = new LabVar<int>("debited");
        var credited = new LabVar<int>("credited");
        var writer = cx.Spawn("transfer", async cx =>
        {
            if (fixedVariant)
            {
                using var ob = cx.Reserve(ObligationKind.IoOp, "transfer 10");
                await cx.YieldAsync();
                await cx.YieldAsync();           // a cancel raised here aborts the reservation: nothing happened
                debited.Write(cx, 10);
                credited.Write(cx, 10);
                ob.Commit();
            }
            else
            {
                debited.Write(cx, 10);
                await cx.YieldAsync();           // the canceller may run here…
                await cx.YieldAsync();           // …and this checkpoint raises: the debit has no credit
                credited.Write(cx, 10);
            }
        });
        var canceller = cx.Spawn("canceller", async cx =>
        {
            await cx.YieldAsync();
            writer.Cancel();
        });
        await writer.JoinAsync(cx);
        await canceller.JoinAsync(cx);
        if (debited.Read(cx) != credited.Read(cx))
            throw new InvalidOperationException($"half-done transfer: debited {debited.Value}, credited {credited.Value}");
    };
}
