namespace Asupersync.Tests;

/// <summary>Helpers: every test gets its own 2-worker runtime and a hang guard (not a timing assertion).</summary>
internal static class TestRuntime
{
    internal static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    internal static async Task<Outcome<T>> RunAsync<T>(Func<Cx, Task<T>> body, RuntimeOptions? options = null, Action<Runtime>? inspect = null)
    {
        await using var rt = Runtime.Create(options ?? new RuntimeOptions { WorkerCount = 2 });
        var o = await rt.RunAsync(body).WaitAsync(HangGuard);
        inspect?.Invoke(rt);
        return o;
    }

    internal static async Task<Outcome<Unit>> RunAsync(Func<Cx, Task> body, RuntimeOptions? options = null, Action<Runtime>? inspect = null)
    {
        await using var rt = Runtime.Create(options ?? new RuntimeOptions { WorkerCount = 2 });
        var o = await rt.RunAsync(body).WaitAsync(HangGuard);
        inspect?.Invoke(rt);
        return o;
    }
}

internal static class CxTestExtensions
{
    /// <summary>Yields until the task has run its first step (so a cancel lands inside its body, not before it).</summary>
    internal static async Task WaitStartedAsync<T>(this Cx cx, TaskHandle<T> handle)
    {
        while (handle.State == TaskState.Created) await cx.YieldAsync();
    }
}
