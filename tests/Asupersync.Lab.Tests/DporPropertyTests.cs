using Asupersync.Lab;
using Asupersync.Lab.Exploration;

namespace Asupersync.Lab.Tests;

/// <summary>DPOR against brute force on many small random programs.</summary>
public class DporPropertyTests
{
    private enum Op { Yield, ReadX, WriteX, ReadY, WriteY, Sleep1, Sleep2, CancelNext, ReserveCommit, MutexSection, SemaphoreSection }

    internal static Func<Cx, Task> Generate(int seed, out string description)
    {
        var rng = new Random(seed);
        int tasks = rng.Next(2, 4);
        var ops = new Op[tasks][];
        for (int t = 0; t < tasks; t++)
        {
            ops[t] = new Op[rng.Next(1, tasks == 2 ? 4 : 3)];
            for (int i = 0; i < ops[t].Length; i++) ops[t][i] = (Op)rng.Next(0, 11);
        }
        description = string.Join(" | ", ops.Select((o, t) => $"t{t}: " + string.Join(",", o)));
        return async cx =>
        {
            var x = new LabVar<int>("x");
            var y = new LabVar<int>("y");
            var mutex = new Asupersync.Sync.AsyncMutex();
            var semaphore = new Asupersync.Sync.AsyncSemaphore(1);
            var handles = new TaskHandle<Unit>[tasks];
            for (int t = 0; t < tasks; t++)
            {
                int me = t;
                handles[t] = cx.Spawn($"t{t}", async cx =>
                {
                    foreach (var op in ops[me])
                    {
                        switch (op)
                        {
                            case Op.Yield: await cx.YieldAsync(); break;
                            case Op.ReadX: _ = x.Read(cx); await cx.YieldAsync(); break;
                            case Op.WriteX: x.Write(cx, me); await cx.YieldAsync(); break;
                            case Op.ReadY: _ = y.Read(cx); await cx.YieldAsync(); break;
                            case Op.WriteY: y.Write(cx, me); await cx.YieldAsync(); break;
                            case Op.Sleep1: await cx.SleepAsync(TimeSpan.FromMilliseconds(1)); break;
                            case Op.Sleep2: await cx.SleepAsync(TimeSpan.FromMilliseconds(2)); break;
                            case Op.CancelNext: handles[(me + 1) % tasks]?.Cancel(); await cx.YieldAsync(); break;
                            case Op.MutexSection:
                                using (await mutex.LockAsync(cx)) await cx.YieldAsync();
                                break;
                            case Op.SemaphoreSection:
                                using (await semaphore.AcquireAsync(cx)) await cx.YieldAsync();
                                break;
                            case Op.ReserveCommit:
                                var ob = cx.Reserve(ObligationKind.Custom, "op");
                                await cx.YieldAsync();
                                ob.Commit();
                                break;
                        }
                    }
                });
            }
            foreach (var h in handles) await h.JoinAsync(cx);
        };
    }

    [Fact]
    public void Dpor_MatchesBruteForce_OnRandomPrograms()
    {
        int compared = 0;
        for (int seed = 0; seed < 80; seed++)
        {
            var program = Generate(seed, out var description);
            var brute = LabRuntime.Explore(program, new ExploreOptions { Strategy = ExploreStrategy.Exhaustive, MaxSchedules = 3000, StopOnFirstFailure = false });
            if (!brute.Exhausted) continue; // too big to enumerate within the bound: skip
            var dpor = LabRuntime.Explore(program, new ExploreOptions { Strategy = ExploreStrategy.Dpor, MaxSchedules = 3000, StopOnFirstFailure = false });
            Assert.True(dpor.Exhausted, $"program {seed} ({description}): {dpor.Describe()}");
            Assert.True(brute.ClassFingerprints.SetEquals(dpor.ClassFingerprints),
                $"program {seed} ({description}): brute force {brute.DistinctClasses} classes, DPOR {dpor.DistinctClasses}; DPOR missed {brute.ClassFingerprints.Except(dpor.ClassFingerprints).Count()}");
            Assert.True(dpor.RedundantSchedules == 0, $"program {seed} ({description}): {dpor.RedundantSchedules} redundant schedules");
            compared++;
        }
        Assert.True(compared >= 40, $"only {compared} programs were small enough to compare");
    }
}
