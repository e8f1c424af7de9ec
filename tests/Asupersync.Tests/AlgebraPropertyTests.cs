using CsCheck;

namespace Asupersync.Tests;

/// <summary>Laws of the core algebra: Budget.Meet, CancelReason.Strengthen, Outcome.Join.</summary>
public class AlgebraPropertyTests
{
    private static readonly Gen<TimeSpan?> GenSpan =
        Gen.Frequency((1, Gen.Const((TimeSpan?)null)), (3, Gen.Long[0, 1_000_000].Select(t => (TimeSpan?)TimeSpan.FromTicks(t))));

    private static readonly Gen<Budget> GenBudget =
        Gen.Select(GenSpan, GenSpan, Gen.Int[1, 100].Nullable(), Gen.Long[0, 100].Nullable(), Gen.Byte)
           .Select((d, t, p, c, pr) => new Budget { Deadline = d, RelativeTimeout = t, PollQuota = p, CostQuota = c, Priority = pr });

    private static readonly Gen<CancelReason> GenReason =
        Gen.Select(Gen.Enum<CancelKind>(), Gen.Int[0, 3], Gen.OneOfConst<string?>(null, "a", "b"), Gen.Long[0, 2], Gen.Long[0, 2])
           .Select((k, t, m, r, task) => new CancelReason(k, m, TimeSpan.FromMilliseconds(t), r, task));

    private static readonly Gen<Outcome<int>> GenOutcome =
        Gen.Frequency(
            (2, Gen.Int[0, 3].Select(v => Outcome.Ok(v))),
            (1, Gen.OneOfConst("e1", "e2").Select(m => Outcome.Err<int>(new TaskErrorException(m)))),
            (2, GenReason.Select(r => Outcome.Cancelled<int>(r))),
            (1, Gen.OneOfConst("p1", "p2").Select(m => Outcome.Panicked<int>(new InvalidOperationException(m)))));

    [Fact]
    public void Meet_IsCommutativeAssociativeIdempotent() =>
        Gen.Select(GenBudget, GenBudget, GenBudget).Sample((a, b, c) =>
            a.Meet(b) == b.Meet(a) && a.Meet(b).Meet(c) == a.Meet(b.Meet(c)) && a.Meet(a) == a);

    [Fact]
    public void Meet_HasUnlimitedAsIdentity_AndNeverLoosens() =>
        Gen.Select(GenBudget, GenBudget).Sample((a, b) =>
        {
            var m = a.Meet(b);
            return a.Meet(Budget.Unlimited) == a
                && (m.Deadline is null || (a.Deadline is null || m.Deadline <= a.Deadline) && (b.Deadline is null || m.Deadline <= b.Deadline))
                && (a.Deadline is null || m.Deadline is not null)
                && m.Priority >= a.Priority && m.Priority >= b.Priority
                && (a.PollQuota is null || m.PollQuota <= a.PollQuota);
        });

    [Fact]
    public void Resolve_NeverExtendsADeadline() =>
        Gen.Select(GenBudget, Gen.Long[0, 1_000_000]).Sample((b, now) =>
        {
            var r = b.Resolve(TimeSpan.FromTicks(now));
            return r.RelativeTimeout is null && (b.Deadline is null || r.Deadline <= b.Deadline);
        });

    [Fact]
    public void Strengthen_IsCommutativeAssociativeIdempotent() =>
        Gen.Select(GenReason, GenReason, GenReason).Sample((a, b, c) =>
            CancelReason.Strengthen(a, b)!.Equals(CancelReason.Strengthen(b, a))
            && CancelReason.Strengthen(CancelReason.Strengthen(a, b), c)!.Equals(CancelReason.Strengthen(a, CancelReason.Strengthen(b, c)))
            && ReferenceEquals(CancelReason.Strengthen(a, a), a)
            && (CancelReason.Strengthen(a, b)!.Equals(a) || CancelReason.Strengthen(a, b)!.Equals(b)));

    [Fact]
    public void Strengthen_NeverWeakens() =>
        Gen.Select(GenReason, GenReason).Sample((a, b) =>
        {
            var s = a.Strengthen(b);
            return s.Tier >= a.Tier && s.Tier >= b.Tier;
        });

    [Fact]
    public void Strengthen_TieGoesToTheEarlier()
    {
        var early = new CancelReason(CancelKind.Timeout, "early", TimeSpan.FromSeconds(1));
        var late = new CancelReason(CancelKind.Deadline, "late", TimeSpan.FromSeconds(2));
        Assert.Same(early, CancelReason.Strengthen(late, early));
        Assert.Same(early, CancelReason.Strengthen(early, late));
    }

    [Fact]
    public void Join_KindIsTheMaximum_AndJoinIsAssociative() =>
        Gen.Select(GenOutcome, GenOutcome, GenOutcome).Sample((a, b, c) =>
        {
            var ab = Outcome<int>.Join(a, b);
            return ab.Kind == (OutcomeKind)Math.Max((int)a.Kind, (int)b.Kind)
                && Outcome<int>.Join(b, a).Kind == ab.Kind
                && Outcome<int>.Join(ab, c) == Outcome<int>.Join(a, Outcome<int>.Join(b, c));
        });

    [Fact]
    public void Join_IsMonotone() =>
        Gen.Select(GenOutcome, GenOutcome, GenOutcome).Sample((a, b, c) =>
            // a ≤ b  ⇒  a ⊔ c ≤ b ⊔ c   (ordering by kind)
            a.Kind > b.Kind || Outcome<int>.Join(a, c).Kind <= Outcome<int>.Join(b, c).Kind);

    [Fact]
    public void Join_OfTwoCancelled_StrengthensReasons() =>
        Gen.Select(GenReason, GenReason).Sample((r1, r2) =>
        {
            var j = Outcome<int>.Join(Outcome.Cancelled<int>(r1), Outcome.Cancelled<int>(r2));
            return j.CancelReason!.Equals(CancelReason.Strengthen(r1, r2));
        });

    [Fact]
    public void CauseChain_IsBounded()
    {
        var r = CancelReason.User("root");
        for (int i = 0; i < 50; i++) r = r.ForChild(i, TimeSpan.FromMilliseconds(i));
        int depth = 0;
        for (var x = r; x is not null; x = x.Cause) depth++;
        Assert.Equal(CancelReason.MaxCauseDepth, depth);
    }

    [Fact]
    public void GetValueOrThrow_MapsEachCase()
    {
        Assert.Equal(5, Outcome.Ok(5).GetValueOrThrow());
        Assert.Throws<TaskErrorException>(() => Outcome.Err<int>(new TaskErrorException("x")).GetValueOrThrow());
        var c = Assert.Throws<CancelledException>(() => Outcome.Cancelled<int>(CancelReason.Timeout()).GetValueOrThrow());
        Assert.Equal(CancelKind.Timeout, c.Reason.Kind);
        Assert.Throws<ArgumentException>(() => Outcome.Panicked<int>(new ArgumentException("p")).GetValueOrThrow());
        Assert.Equal(Outcome.Ok(6), Outcome.Ok(3).Map(v => v * 2));
        Assert.Equal(OutcomeKind.Err, Outcome.Ok(3).Bind(_ => Outcome.Err<string>(new TaskErrorException("no"))).Kind);
        Assert.Equal(OutcomeKind.Cancelled, Outcome.Cancelled<int>(CancelReason.User()).Map(v => v + 1).Kind);
    }

    [Fact]
    public void BadInput_IsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Budget.Timeout(TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Budget.Polls(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CancelReason((CancelKind)99));
        Assert.Throws<ArgumentNullException>(() => Outcome.Err<int>(null!));
    }
}
