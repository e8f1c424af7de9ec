namespace Asupersync.Sagas.Tests;

/// <summary>
/// A durable saga log store does database I/O on the caller's behalf, so every operation needs the IO capability of
/// the caller's Cx (issue 9, item 4: no capability bypass through the library).
/// </summary>
public sealed class StoreCapabilityTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "asupersync-store-caps-" + Guid.NewGuid().ToString("n"));

    public StoreCapabilityTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public async Task SqliteStore_RefusesACxWithoutIO_AtEveryOperation()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var path = Path.Combine(_dir, "sagas.db");
        var o = await rt.RunAsync(async cx =>
        {
            var noIO = cx.Narrow(Capabilities.All & ~Capabilities.IO);
            var missing = new List<Capabilities>
            {
                (await Assert.ThrowsAsync<CapabilityException>(async () => await SqliteSagaLogStore.OpenAsync(noIO, path))).Missing,
            };
            await using var store = await SqliteSagaLogStore.OpenAsync(cx, path);
            var entry = new SagaLogEntry("s1", SagaTransition.SagaStarted, -1, null, cx.UtcNow);
            missing.Add((await Assert.ThrowsAsync<CapabilityException>(async () => await store.AppendAsync(noIO, entry))).Missing);
            missing.Add((await Assert.ThrowsAsync<CapabilityException>(async () => await store.ReadAsync(noIO, "s1"))).Missing);
            missing.Add((await Assert.ThrowsAsync<CapabilityException>(async () => await store.ListUnfinishedAsync(noIO))).Missing);
            missing.Add((await Assert.ThrowsAsync<CapabilityException>(async () => await store.ClaimAsync(noIO, 1))).Missing);
            // Nothing was written by the refused append; the store still works for a Cx with IO.
            Assert.Empty(await store.ReadAsync(cx, "s1"));
            await store.AppendAsync(cx, entry);
            Assert.Single(await store.ReadAsync(cx, "s1"));
            return missing;
        }).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(o.IsOk, o.ToString());
        Assert.All(o.Value, m => Assert.Equal(Capabilities.IO, m));
        Assert.Equal(5, o.Value.Count);
    }
}
