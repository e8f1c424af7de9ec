using CsCheck;

namespace Asupersync.Tests.Combinators;

/// <summary>
/// Laws of the combinators, checked on the real two-worker runtime: join is associative and commutative on
/// outcomes, a race against a never-completing branch is the other branch, and a timeout of min(a, b) equals
/// nested timeouts. Branch behaviours are chosen so that no law depends on wall-clock luck: a branch either
/// completes promptly (a few yields) or never, and time limits are far longer than a few yields.
/// </summary>
public sealed class CombinatorLawTests : IDisposable
{
    private readonly Runtime _rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });

    public void Dispose() => _rt.Dispose();

    /// <summary>A branch: what it ends with after a few yields.</summary>
    public sealed record Behaviour(OutcomeKind Kind, int Value, int Yields)
    {
        public Func<Cx, Task<int>> Body => async cx =>
        {
            for (int i = 0; i < Yields; i++) await cx.YieldAsync();
            return Kind switch
            {
                OutcomeKind.Ok => Value,
                OutcomeKind.Err => throw new TaskErrorException("e" + Value),
                OutcomeKind.Panicked => throw new InvalidOperationException("p" + Value),
                _ => throw new CancelledException(new CancelReason(CancelKind.User, "self" + Value)),
            };
        };

        public override string ToString() => $"{Kind}({Value}, {Yields} yields)";
    }

    private static readonly Gen<Behaviour> GenBehaviour =
        Gen.Select(Gen.OneOfConst(OutcomeKind.Ok, OutcomeKind.Ok, OutcomeKind.Err, OutcomeKind.Cancelled, OutcomeKind.Panicked), Gen.Int[0, 3], Gen.Int[0, 3])
           .Select((k, v, y) => new Behaviour(k, v, y));

    private static async Task<int> Never(Cx cx)
    {
        await cx.SleepAsync(TimeSpan.FromHours(1));
        return -1;
    }

    private T Run<T>(Func<Cx, Task<T>> body)
    {
        var o = _rt.RunAsync(body).WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        Assert.True(o.IsOk, o.ToString());
        return o.Value;
    }

    /// <summary>Kind, plus the value for Ok and the message for Err/Panicked (Cancelled reasons carry times).</summary>
    private static string Shape<T>(Outcome<T> o) => o.Kind switch
    {
        OutcomeKind.Ok => "Ok:" + string.Join(",", o.Value is System.Collections.IEnumerable e and not string ? e.Cast<object>() : [o.Value!]),
        OutcomeKind.Err => "Err:" + o.Error!.Message,
        OutcomeKind.Panicked => "Panicked:" + o.Exception!.Message,
        _ => "Cancelled",
    };

    private static Outcome<int> Flatten(Outcome<int[]> o) => o.IsOk ? Outcome.Ok(o.Value.Sum()) : Outcome<int>.FromNonOk(o.Kind, o.Payload);

    [Fact]
    public void JoinAll_IsTheLatticeJoinOfItsBranches_AndCommutative() =>
        Gen.Select(GenBehaviour, GenBehaviour, GenBehaviour).Sample((a, b, c) =>
        {
            var (abc, cba) = Run(async cx =>
            {
                var x = await cx.JoinAllAsync([a.Body, b.Body, c.Body]);
                var y = await cx.JoinAllAsync([c.Body, b.Body, a.Body]);
                return (x, y);
            });
            var maxKind = (OutcomeKind)new[] { a.Kind, b.Kind, c.Kind }.Max(k => (int)k);
            Assert.Equal(maxKind, abc.Kind);
            Assert.Equal(abc.Kind, cba.Kind);
            if (abc.IsOk) Assert.Equal(abc.Value.Order(), cba.Value.Order());
        }, iter: 40, threads: 1);

    [Fact]
    public void Join_IsAssociative() =>
        Gen.Select(GenBehaviour, GenBehaviour, GenBehaviour).Sample((a, b, c) =>
        {
            var (left, right) = Run(async cx =>
            {
                // (a ⊔ b) ⊔ c  versus  a ⊔ (b ⊔ c), each inner join run as a branch of the outer one.
                var l = await cx.JoinAllAsync<int>([
                    async cx => Flatten(await cx.JoinAllAsync([a.Body, b.Body])).GetValueOrThrow(),
                    c.Body]);
                var r = await cx.JoinAllAsync<int>([
                    a.Body,
                    async cx => Flatten(await cx.JoinAllAsync([b.Body, c.Body])).GetValueOrThrow()]);
                return (Flatten(l), Flatten(r));
            });
            Assert.Equal(left.Kind, right.Kind);
            if (left.IsOk) Assert.Equal(left.Value, right.Value);
        }, iter: 40, threads: 1);

    [Fact]
    public void Race_WithANeverCompletingBranch_IsTheOtherBranch() =>
        Gen.Select(GenBehaviour, Gen.Bool).Sample((x, neverFirst) =>
        {
            var (raced, alone) = Run(async cx =>
            {
                var r = neverFirst ? await cx.RaceAsync<int>(Never, x.Body) : await cx.RaceAsync<int>(x.Body, Never);
                var a = await cx.RegionAsync("alone", x.Body, new RegionOptions { Policy = RegionPolicy.CollectAll });
                return (r, a);
            });
            Assert.Equal(Shape(alone), Shape(raced));
        }, iter: 40, threads: 1);

    /// <summary>Timeouts are about time, so this law runs under the Lab's virtual clock: no wall-clock luck.</summary>
    private static T RunLab<T>(ulong seed, Func<Cx, Task<T>> body)
    {
        T result = default!;
        var r = Asupersync.Lab.LabRuntime.Run(seed, async cx => { result = await body(cx); });
        Assert.True(r.Passed, r.Describe());
        return result;
    }

    [Fact]
    public void Timeout_OfTheMinimum_EqualsNestedTimeouts() =>
        Gen.Select(Gen.OneOf(GenBehaviour.Select(b => (Behaviour?)b), Gen.Const((Behaviour?)null)), Gen.Int[1, 40], Gen.Int[1, 40], Gen.ULong)
           .Sample((body, a, b, seed) =>
        {
            Func<Cx, Task<int>> work = body is null ? Never : body.Body;
            var (single, nested) = RunLab(seed, async cx =>
            {
                var s = await cx.TimeoutAsync(TimeSpan.FromMilliseconds(Math.Min(a, b)), work);
                var n = await cx.TimeoutAsync(TimeSpan.FromMilliseconds(a), async cx =>
                    (await cx.TimeoutAsync(TimeSpan.FromMilliseconds(b), work)).GetValueOrThrow());
                return (s, n);
            });
            Assert.Equal(Shape(single), Shape(nested));
            Assert.Equal(single.IsTimedOut(), nested.IsTimedOut());
            if (body is null) Assert.True(single.IsTimedOut());
        }, iter: 60, threads: 1);
}
