using Asupersync;
using Asupersync.Data;
using Asupersync.Extensions;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Asupersync.Guides.Snippets;

public static class BridgesData
{
    public static async Task TransferAsync(Cx cx, string connectionString)
    {
        // <snippet bridges-transaction>
        await using var connection = new SqliteConnection(connectionString);   // or NpgsqlConnection, any DbConnection
        await cx.OpenAsync(connection);
        await using var tx = await cx.BeginTransactionAsync(connection);
        await tx.ExecuteAsync("UPDATE accounts SET balance = balance - @d WHERE id = @id", ("d", 10), ("id", 1));
        await tx.ExecuteAsync("UPDATE accounts SET balance = balance + @d WHERE id = @id", ("d", 10), ("id", 2));
        await tx.CommitAsync();
        // </snippet>
    }

    public static async Task<List<int>> ChannelsAsync(Cx cx, ChannelReader<int> reader, ChannelWriter<int> writer, IAsyncEnumerable<int> query)
    {
        var seen = new List<int>();
        // <snippet bridges-channels>
        var item = await reader.ReceiveAsync(cx);              // ChannelReader<T> as a cancel-safe receiver
        await writer.SendAsync(cx, item);                      // ChannelWriter<T>, waits while a bounded channel is full
        await foreach (var x in reader.ReadAllAsync(cx)) { seen.Add(x); }   // until the channel completes
        await foreach (var row in query.WithCx(cx)) { seen.Add(row); }      // any IAsyncEnumerable<T> (EF Core, gRPC, …)
        // </snippet>
        return seen;
    }

    public static async Task<string> HttpAsync(Cx cx, HttpClient client)
    {
        // <snippet bridges-httpclient>
        var body = await cx.GetStringAsync(client, "/rates");          // or:
        using var request = new HttpRequestMessage(HttpMethod.Get, "/rates");
        using var response = await cx.SendAsync(client, request);       // budget deadline → timeout
        // </snippet>
        return body + "|" + (int)response.StatusCode;
    }
}
