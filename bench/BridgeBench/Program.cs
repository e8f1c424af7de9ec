// Overhead of the bridges against plain ASP.NET Core + ADO.NET, measured side by side in one process, in
// interleaved rounds (the machine is shared: interleaving keeps load drift out of the ratios).
//
//   dotnet run -c Release --project bench/BridgeBench -- [--rounds 5] [--seconds 3] [--clients 16]
//
// Endpoints, each served by a plain app and a bridged app on Kestrel 127.0.0.1 (ephemeral ports):
//   /balance/{id}  database-backed: open a pooled SQLite connection, BEGIN, SELECT, COMMIT
//                  (bridged: Cx parameter, cx.OpenAsync, cx.BeginTransactionAsync, tx.ScalarAsync, tx.CommitAsync)
//   /ping          no database: the bridge's fixed cost per request at its most visible
//   /pg/{id}       database-backed over the network, when ASUPERSYNC_PG is set: the same transaction on PostgreSQL
//                  (Npgsql, pooled), a real client/server round trip per statement
// The load is HttpClient loops in the same process (the same for both apps).
using System.Diagnostics;
using System.Globalization;
using Asupersync;
using Asupersync.AspNetCore;
using Asupersync.Data;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Data.Sqlite;
using Npgsql;

int rounds = Arg("--rounds", 5), seconds = Arg("--seconds", 3), clients = Arg("--clients", 16);
var dbPath = Path.Combine(Path.GetTempPath(), $"bridgebench-{Environment.ProcessId}.db");
var cs = new SqliteConnectionStringBuilder { DataSource = dbPath, Pooling = true }.ToString();
await using (var c = new SqliteConnection(cs))
{
    await c.OpenAsync();
    await using var cmd = c.CreateCommand();
    cmd.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL); INSERT OR REPLACE INTO accounts VALUES (1, 100), (2, 0);";
    await cmd.ExecuteNonQueryAsync();
}

var pg = Environment.GetEnvironmentVariable("ASUPERSYNC_PG");
if (pg is not null)
{
    await using var c = new NpgsqlConnection(pg);
    await c.OpenAsync();
    await using var cmd = c.CreateCommand();
    cmd.CommandText = "CREATE TABLE IF NOT EXISTS bridgebench_accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL); INSERT INTO bridgebench_accounts VALUES (1, 100) ON CONFLICT (id) DO UPDATE SET balance = 100;";
    await cmd.ExecuteNonQueryAsync();
}

await using var plain = await StartAsync(bridged: false);
await using var bridged = await StartAsync(bridged: true);
Console.WriteLine($"BridgeBench: {rounds} interleaved rounds x {seconds} s, {clients} client loops, {Environment.ProcessorCount} cores (shared machine)");
foreach (var path in pg is null ? new[] { "/balance/1", "/ping" } : new[] { "/balance/1", "/pg/1", "/ping" })
{
    await LoadAsync(plain.Url + path, 1); // warm-up
    await LoadAsync(bridged.Url + path, 1);
    var p = new List<double>();
    var b = new List<double>();
    for (int r = 0; r < rounds; r++)
    {
        p.Add(await LoadAsync(plain.Url + path, seconds));
        b.Add(await LoadAsync(bridged.Url + path, seconds));
    }
    double mp = Median(p), mb = Median(b);
    Console.WriteLine($"{path,-12} plain {mp,9:F0} req/s   bridged {mb,9:F0} req/s   bridged/plain {mb / mp:F3}   (rounds: plain {string.Join(' ', p.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))}; bridged {string.Join(' ', b.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))})");
}
File.Delete(dbPath);
return 0;

async Task<double> LoadAsync(string url, int secs)
{
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients });
    long count = 0;
    var sw = Stopwatch.StartNew();
    var until = TimeSpan.FromSeconds(secs);
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
    {
        while (sw.Elapsed < until)
        {
            using var resp = await http.GetAsync(url);
            if (!resp.IsSuccessStatusCode) throw new InvalidOperationException($"{url}: {(int)resp.StatusCode}");
            await resp.Content.ReadAsByteArrayAsync();
            Interlocked.Increment(ref count);
        }
    }));
    return count / sw.Elapsed.TotalSeconds;
}

async Task<Server> StartAsync(bool bridged)
{
    var builder = WebApplication.CreateBuilder();
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Logging.ClearProviders();
    if (bridged) builder.Services.AddAsupersync();
    var app = builder.Build();
    if (bridged)
    {
        app.UseAsupersync();
        app.MapGet("/ping", (Cx cx) => "pong");
        app.MapGet("/pg/{id:long}", async (Cx cx, long id) =>
        {
            await using var conn = new NpgsqlConnection(pg);
            await cx.OpenAsync(conn);
            await using var tx = await cx.BeginTransactionAsync(conn);
            long balance = await tx.ScalarAsync<long>("SELECT balance FROM bridgebench_accounts WHERE id = @id", ("id", id));
            await tx.CommitAsync();
            return balance;
        });
        app.MapGet("/balance/{id:long}", async (Cx cx, long id) =>
        {
            await using var conn = new SqliteConnection(cs);
            await cx.OpenAsync(conn);
            await using var tx = await cx.BeginTransactionAsync(conn);
            long balance = await tx.ScalarAsync<long>("SELECT balance FROM accounts WHERE id = @id", ("id", id));
            await tx.CommitAsync();
            return balance;
        });
    }
    else
    {
        app.MapGet("/ping", () => "pong");
        app.MapGet("/pg/{id:long}", async (long id, CancellationToken token) =>
        {
            await using var conn = new NpgsqlConnection(pg);
            await conn.OpenAsync(token);
            await using var tx = await conn.BeginTransactionAsync(token);
            await using var cmd = conn.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "SELECT balance FROM bridgebench_accounts WHERE id = @id";
            cmd.Parameters.AddWithValue("@id", id);
            long balance = Convert.ToInt64(await cmd.ExecuteScalarAsync(token), CultureInfo.InvariantCulture);
            await tx.CommitAsync(token);
            return balance;
        });
        app.MapGet("/balance/{id:long}", async (long id, CancellationToken token) =>
        {
            await using var conn = new SqliteConnection(cs);
            await conn.OpenAsync(token);
            await using var tx = await conn.BeginTransactionAsync(token);
            await using var cmd = conn.CreateCommand();
            cmd.Transaction = (SqliteTransaction)tx;
            cmd.CommandText = "SELECT balance FROM accounts WHERE id = @id";
            cmd.Parameters.AddWithValue("@id", id);
            long balance = Convert.ToInt64(await cmd.ExecuteScalarAsync(token), CultureInfo.InvariantCulture);
            await tx.CommitAsync(token);
            return balance;
        });
    }
    await app.StartAsync();
    var url = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
    return new Server(app, url);
}

int Arg(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static double Median(List<double> xs)
{
    var s = xs.Order().ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

internal sealed record Server(WebApplication App, string Url) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
