// A minimal API with all three bridges: each request in a region (Cx in the handler), the transfer as a database
// transaction obligation on SQLite, and an outgoing HTTP call under the request's budget.
//
//   dotnet run --project examples/BridgesSample                 # serves on http://127.0.0.1:5080 until Ctrl-C
//   dotnet run --project examples/BridgesSample -- --self-test  # ephemeral port, a few requests, then exits
using System.Globalization;
using System.Threading.Channels;
using Asupersync;
using Asupersync.AspNetCore;
using Asupersync.Data;
using Asupersync.Extensions;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Data.Sqlite;

bool selfTest = args.Contains("--self-test");
var dbPath = Path.Combine(Path.GetTempPath(), $"bridges-sample-{Environment.ProcessId}.db");
var connectionString = new SqliteConnectionStringBuilder { DataSource = dbPath }.ToString();
await CreateDatabaseAsync(connectionString);

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls(selfTest ? "http://127.0.0.1:0" : "http://127.0.0.1:5080");
if (selfTest) builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddAsupersync(o => o.RequestBudget = Budget.Timeout(TimeSpan.FromSeconds(10)));
var partner = new HttpClient();                     // the "partner service" is this app's /fees endpoint
var audit = Channel.CreateUnbounded<string>();      // transfers publish here; /audit drains it
var app = builder.Build();
app.UseAsupersync();

// The partner: a fee in basis points (slow on purpose, so a client abort or budget can land during the call).
app.MapGet("/fees/{amount:long}", async (Cx cx, long amount) =>
{
    await cx.SleepAsync(TimeSpan.FromMilliseconds(20));
    return (amount >= 1000 ? 10 : 25).ToString(CultureInfo.InvariantCulture);
});

app.MapPost("/transfer", async (Cx cx, long from, long to, long amount) =>
{
    // Outgoing HTTP under the request's budget: a cancel or the deadline stops it, and says the partner may have seen it.
    long feeBps = long.Parse(await cx.GetStringAsync(partner, $"/fees/{amount}"), CultureInfo.InvariantCulture);
    long fee = amount * feeBps / 10_000;

    await using var connection = new SqliteConnection(connectionString);
    await cx.OpenAsync(connection);
    await using var tx = await cx.BeginTransactionAsync(connection);   // an obligation: commit, or rolled back
    long balance = await tx.ScalarAsync<long>("SELECT balance FROM accounts WHERE id = @id", ("id", from));
    if (balance < amount + fee)
    {
        await tx.RollbackAsync("insufficient funds");
        return Results.Conflict($"account {from} has {balance}, needs {amount + fee}");
    }
    await tx.ExecuteAsync("UPDATE accounts SET balance = balance - @d WHERE id = @id", ("d", amount + fee), ("id", from));
    await tx.ExecuteAsync("UPDATE accounts SET balance = balance + @d WHERE id = @id", ("d", amount), ("id", to));
    await tx.CommitAsync();                                           // a cancel before here leaves no partial write
    using (cx.Mask()) await audit.Writer.SendAsync(cx, $"{from}->{to} {amount} (fee {fee})"); // committed: publish even if a cancel arrives now
    return Results.Ok(new { from, to, amount, fee });
});

app.MapGet("/accounts/{id:long}", async (Cx cx, long id) =>
{
    await using var connection = new SqliteConnection(connectionString);
    await cx.OpenAsync(connection);
    await using var tx = await cx.BeginTransactionAsync(connection);
    long balance = await tx.ScalarAsync<long>("SELECT balance FROM accounts WHERE id = @id", ("id", id));
    await tx.CommitAsync();
    return Results.Ok(new { id, balance });
});

app.MapGet("/audit", (Cx cx) =>
{
    var lines = new List<string>();
    while (audit.Reader.TryReceive(cx, out var line)) lines.Add(line);
    return lines;
});

await app.StartAsync();
var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
partner.BaseAddress = new Uri(address);
Console.WriteLine($"listening on {address}");
if (!selfTest)
{
    await app.WaitForShutdownAsync();
    return 0;
}

using var client = new HttpClient { BaseAddress = new Uri(address) };
Console.WriteLine("transfer 1 -> 2, 400: " + (int)(await client.PostAsync("/transfer?from=1&to=2&amount=400", null)).StatusCode);
Console.WriteLine("transfer 2 -> 1, 5000: " + (int)(await client.PostAsync("/transfer?from=2&to=1&amount=5000", null)).StatusCode);
Console.WriteLine("account 1: " + await client.GetStringAsync("/accounts/1"));
Console.WriteLine("account 2: " + await client.GetStringAsync("/accounts/2"));
Console.WriteLine("audit: " + await client.GetStringAsync("/audit"));
await app.StopAsync();
File.Delete(dbPath);
return 0;

static async Task CreateDatabaseAsync(string connectionString)
{
    await using var c = new SqliteConnection(connectionString);
    await c.OpenAsync();
    await using var cmd = c.CreateCommand();
    cmd.CommandText = "DROP TABLE IF EXISTS accounts; CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL); INSERT INTO accounts VALUES (1, 1000), (2, 0);";
    await cmd.ExecuteNonQueryAsync();
}
