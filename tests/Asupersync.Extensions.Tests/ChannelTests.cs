using System.Threading.Channels;
using Asupersync.Lab;

namespace Asupersync.Extensions.Tests;

public sealed class ChannelTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A producer sends 6 items through a System channel; consumer and producer are cancelled at a random point.
    /// Whatever the schedule, every item sent is either received (in order) or still in the channel: none lost, none
    /// doubled. (Unbounded: a writer waiting on a full bounded channel is woken from the thread pool, see ChannelCx.)
    /// </summary>
    [Fact]
    public void CancelledReceiver_LosesNothing_AcrossSeeds()
    {
        int cancelledRuns = 0, partlyReceived = 0;
        for (ulong seed = 0; seed < 150; seed++)
        {
            var received = new List<int>();
            // Waiting readers are woken inline, on the Lab's thread (asynchronous continuations would come from the
            // thread pool, which the Lab reports as nondeterminism).
            var channel = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { AllowSynchronousContinuations = true });
            int sent = 0;
            var r = LabRuntime.Run(seed, async cx =>
            {
                var consumer = cx.Spawn("consumer", async cx =>
                {
                    while (true) received.Add(await channel.Reader.ReceiveAsync(cx));
                });
                var producer = cx.Spawn("producer", async cx =>
                {
                    for (int i = 0; i < 6; i++)
                    {
                        await channel.Writer.SendAsync(cx, i);
                        sent++;
                        await cx.YieldAsync();
                    }
                });
                cx.Spawn("canceller", async cx =>
                {
                    for (int k = cx.NextRandom(12); k > 0; k--) await cx.YieldAsync();
                    consumer.Cancel(message: "stop consuming");
                    producer.Cancel(message: "stop producing");
                });
                await consumer.JoinAsync(cx);
                await producer.JoinAsync(cx);
            });
            Assert.True(r.Passed, r.Describe());
            var left = new List<int>();
            while (channel.Reader.TryRead(out var x)) left.Add(x);
            Assert.Equal(Enumerable.Range(0, sent), received.Concat(left));
            if (sent < 6) cancelledRuns++;
            if (left.Count > 0) partlyReceived++;
        }
        Assert.True(cancelledRuns > 0, "no seed cancelled the producer mid-way");
        Assert.True(partlyReceived > 0, "no seed cancelled the consumer with items still queued");
    }

    [Fact]
    public async Task CancelledSender_OnAFullBoundedChannel_WritesNothing()
    {
        var channel = Channel.CreateBounded<int>(4);
        var received = new List<int>();
        // The consumer is foreign (thread pool), slow enough that the producer often waits on a full channel.
        var consuming = Task.Run(async () =>
        {
            await foreach (var x in channel.Reader.ReadAllAsync())
            {
                received.Add(x);
                if (x % 50 == 0) await Task.Yield();
            }
        });
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        int next = 0;
        for (int round = 0; round < 40 && next < 1_000; round++)
        {
            var outcome = await rt.RunAsync(async cx =>
            {
                var producer = cx.Spawn("producer", async cx =>
                {
                    while (next < 1_000)
                    {
                        await channel.Writer.SendAsync(cx, next);
                        next++; // only after the write: a cancelled send must have written nothing
                    }
                });
                await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
                producer.Cancel(message: "round over");
                await producer.JoinAsync(cx);
            }).WaitAsync(HangGuard);
            Assert.True(outcome.IsOk, outcome.ToString());
        }
        var last = await rt.RunAsync(async cx =>
        {
            while (next < 1_000)
            {
                await channel.Writer.SendAsync(cx, next);
                next++;
            }
        }).WaitAsync(HangGuard);
        Assert.True(last.IsOk, last.ToString());
        channel.Writer.Complete();
        await consuming.WaitAsync(HangGuard);
        Assert.Equal(Enumerable.Range(0, 1_000), received);
    }

    [Fact]
    public async Task ForeignProducer_CancelledReceiver_LosesNothing()
    {
        var channel = Channel.CreateUnbounded<int>();
        var received = new List<int>();
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2 });
        // Production producer outside the runtime (a thread-pool loop), racing the consumer's cancels.
        var producing = Task.Run(async () =>
        {
            for (int i = 0; i < 2_000; i++)
            {
                await channel.Writer.WriteAsync(i);
                if (i % 100 == 0) await Task.Yield();
            }
        });
        for (int round = 0; round < 20; round++)
        {
            var outcome = await rt.RunAsync(async cx =>
            {
                var consumer = cx.Spawn("consumer", async cx =>
                {
                    while (true) received.Add(await channel.Reader.ReceiveAsync(cx));
                });
                await cx.SleepAsync(TimeSpan.FromMilliseconds(1));
                consumer.Cancel(message: "round over");
                await consumer.JoinAsync(cx);
            }).WaitAsync(HangGuard);
            Assert.True(outcome.IsOk, outcome.ToString());
        }
        await producing.WaitAsync(HangGuard);
        channel.Writer.Complete();
        var final = await rt.RunAsync(async cx =>
        {
            await foreach (var x in channel.Reader.ReadAllAsync(cx)) received.Add(x);
        }).WaitAsync(HangGuard);
        Assert.True(final.IsOk, final.ToString());
        Assert.Equal(Enumerable.Range(0, 2_000), received);
    }

    [Fact]
    public async Task CompletedChannel_IsAClearError_CarryingItsFault()
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 1 });
        var outcome = await rt.RunAsync(async cx =>
        {
            var done = Channel.CreateUnbounded<int>();
            done.Writer.Complete();
            await Assert.ThrowsAsync<ChannelClosedException>(async () => await done.Reader.ReceiveAsync(cx));
            await Assert.ThrowsAsync<ChannelClosedException>(async () => await done.Writer.SendAsync(cx, 1));
            var failed = Channel.CreateUnbounded<int>();
            failed.Writer.Complete(new InvalidDataException("upstream broke"));
            var e = await Assert.ThrowsAsync<ChannelClosedException>(async () => await failed.Reader.ReceiveAsync(cx));
            Assert.IsType<InvalidDataException>(e.InnerException);
            Assert.False(done.Reader.TryReceive(cx, out _));
        }).WaitAsync(HangGuard);
        Assert.True(outcome.IsOk, outcome.ToString());
    }
}
