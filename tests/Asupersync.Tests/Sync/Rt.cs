namespace Asupersync.Tests.Sync;

/// <summary>Test helpers: a real two-worker runtime, a hang guard, and polling without wall-clock assertions.</summary>
internal static class Rt
{
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    public static async Task<Outcome<T>> Run<T>(Func<Cx, Task<T>> body, RuntimeOptions? options = null)
    {
        await using var rt = Runtime.Create(options ?? new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        return await rt.RunAsync(body).WaitAsync(HangGuard);
    }

    public static async Task<Outcome<Unit>> Run(Func<Cx, Task> body, RuntimeOptions? options = null)
    {
        await using var rt = Runtime.Create(options ?? new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        return await rt.RunAsync(body).WaitAsync(HangGuard);
    }

    /// <summary>Runs and asserts the root outcome is Ok, printing it otherwise.</summary>
    public static async Task Ok(Func<Cx, Task> body)
    {
        var o = await Run(body);
        Assert.True(o.IsOk, o.ToString() + (o.Exception is { } e ? "\n" + e : "") + (o.Error is { } r ? "\n" + r : ""));
    }

    /// <summary>Waits (yielding on the runtime) until <paramref name="condition"/> holds.</summary>
    public static async Task Until(Cx cx, Func<bool> condition)
    {
        int spins = 0;
        while (!condition())
        {
            if (++spins % 64 == 0) await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
            else await cx.YieldAsync();
        }
    }

    /// <summary>
    /// Waits until the task has registered its wait with the cancel protocol. A primitive queues a wait before the
    /// wait registers, so between the two a cancel is only seen at registration and a concurrent grant can win:
    /// correct either way, but a test that needs the cancel to win must wait for this.
    /// </summary>
    public static Task UntilParked<T>(Cx cx, TaskHandle<T> handle) => Until(cx, () => handle.Core.HasRegisteredWait);

    /// <summary>A task body that waits until cancelled.</summary>
    public static async Task Forever(Cx cx) => await cx.SleepAsync(TimeSpan.FromHours(1));
}
