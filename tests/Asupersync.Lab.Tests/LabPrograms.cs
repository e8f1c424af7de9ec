using Asupersync.Sync;

namespace Asupersync.Lab.Tests;

/// <summary>Seeded-bug programs (shapes from SCTBench and Coyote's samples) used by the choice-point tests.</summary>
internal static class LabPrograms
{
    /// <summary>
    /// SCTBench <c>twostage</c>: a writer sets stage 1 under lock 1, then stage 2 under lock 2; a checker reads
    /// stage 1 under lock 1, then stage 2 under lock 2, and requires "stage 1 set implies stage 2 set". Every
    /// lock is uncontended in most schedules. The bug needs the checker to run between the writer's release of
    /// lock 1 and its acquire of lock 2. The fixed variant holds lock 1 across both stages (and so does the checker).
    /// </summary>
    internal static Func<Cx, Task> TwoStage(bool fixedVariant) => async cx =>
    {
        var m1 = new AsyncMutex();
        var m2 = new AsyncMutex();
        int stage1 = 0, stage2 = 0;
        var writer = cx.Spawn("writer", async cx =>
        {
            if (fixedVariant)
            {
                using (await m1.LockAsync(cx))
                {
                    stage1 = 1;
                    using (await m2.LockAsync(cx)) stage2 = stage1 + 1;
                }
                return;
            }
            using (await m1.LockAsync(cx)) stage1 = 1;
            using (await m2.LockAsync(cx)) stage2 = stage1 + 1;
        });
        var checker = cx.Spawn("checker", async cx =>
        {
            int s1, s2;
            if (fixedVariant)
            {
                using (await m1.LockAsync(cx))
                {
                    s1 = stage1;
                    using (await m2.LockAsync(cx)) s2 = stage2;
                }
            }
            else
            {
                using (await m1.LockAsync(cx)) s1 = stage1;
                using (await m2.LockAsync(cx)) s2 = stage2;
            }
            if (s1 == 1 && s2 != 2) throw new InvalidOperationException("stage 1 is set but stage 2 is not");
        });
        await writer.JoinAsync(cx);
        await checker.JoinAsync(cx);
    };
}
