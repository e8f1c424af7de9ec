using System.Text;
using Asupersync.Lab;
using Asupersync.Lab.Exploration;
using Asupersync.Net;

namespace Asupersync.Macaroons.Tests;

/// <summary>The runtime enforces the tokens a Cx carries where effects happen (multi-threaded runtime and Lab).</summary>
public class RuntimeEnforcementTests
{
    private static readonly byte[] s_key = Encoding.UTF8.GetBytes("runtime enforcement root key");
    private static readonly TimeSpan s_guard = TimeSpan.FromSeconds(60);

    private static MacaroonVerifier Verifier() => new(s_key);

    private static Macaroon Token(params Caveat[] caveats) => Macaroon.Create(s_key, "svc-1", "local").Attenuate(caveats);

    private static async Task<Outcome<T>> RunAsync<T>(Func<Cx, Task<T>> body)
    {
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        return await rt.RunAsync(body).WaitAsync(s_guard);
    }

    [Fact]
    public async Task TcpBindAndConnect_AreCheckedAgainstResourceScope()
    {
        var o = await RunAsync(async cx =>
        {
            var scoped = cx.WithCapability(Verifier(), Token(Caveat.ResourceScope("net:bind:127.0.0.1:*", "net:connect:127.0.0.1:*")));
            await using var listener = await scoped.TcpBindAsync("127.0.0.1:0");
            await using (var s = await scoped.TcpConnectAsync(listener.LocalEndPoint.ToString())) { }
            var denied = await Assert.ThrowsAsync<CapabilityDeniedException>(async () => await scoped.TcpConnectAsync("[::1]:9"));
            Assert.Equal("net:connect:[::1]:9", denied.Resource);
            Assert.Equal("resource-scope net:bind:127.0.0.1:* net:connect:127.0.0.1:*", denied.FailedCaveat);
            Assert.Contains("may not use 'net:connect:[::1]:9'", denied.Message, StringComparison.Ordinal);
            var narrower = scoped.Attenuate(Caveat.ResourceScope("net:connect:**"));
            await Assert.ThrowsAsync<CapabilityDeniedException>(async () => await narrower.TcpBindAsync("127.0.0.1:0"));
            // The ungoverned Cx is untouched: tokens restrict the Cx they are attached to.
            await using var other = await cx.TcpBindAsync("127.0.0.1:0");
            return scoped.Tokens().Count;
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(1, o.Value);
    }

    [Fact]
    public async Task SpawnWithAttenuate_GivesTheChildANarrowerToken_AndTheParentKeepsItsOwn()
    {
        var o = await RunAsync(async cx =>
        {
            var parent = cx.WithCapability(Verifier(), Token(Caveat.ResourceScope("app:**")));
            var child = parent.Spawn("reader", async c =>
            {
                var tokens = c.Tokens();
                c.Demand("app:reports:read");
                var denied = Assert.Throws<CapabilityDeniedException>(() => c.Demand("app:reports:write"));
                // Grandchildren inherit the child's token.
                var g = c.Spawn("grandchild", gc => Task.FromResult(gc.TryDemand("app:reports:write").IsAuthorized));
                var inherited = await g.ValueAsync(c);
                await c.YieldAsync();
                return (tokens[0].Caveats.Count, denied.FailedCaveat, inherited);
            }, attenuate: t => t.Add(Caveat.ResourceScope("app:*:read")));
            var r = await child.ValueAsync(cx);
            parent.Demand("app:reports:write"); // the parent's token is unchanged
            Assert.Throws<ArgumentException>(() => parent.Spawn("bad", c => Task.CompletedTask, attenuate: _ => Token()));
            Assert.Throws<ArgumentException>(() => parent.Spawn("bad2", c => Task.CompletedTask,
                attenuate: t => t.AddThirdPartyCaveat("x", "k"u8, "id"u8, new byte[24])));
            Assert.Throws<InvalidOperationException>(() => cx.Spawn("ungoverned", c => Task.CompletedTask, attenuate: t => t));
            return r;
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal((2, "resource-scope app:*:read", false), o.Value);
    }

    [Fact]
    public async Task MaxUses_IsExactUnderConcurrency_AcrossDerivedTokens()
    {
        const int limit = 150, tasks = 8, attempts = 40;
        for (int run = 0; run < 5; run++)
        {
            var o = await RunAsync(async cx =>
            {
                var governed = cx.WithCapability(Verifier(), Token(Caveat.MaxUses(limit), Caveat.ResourceScope("app:**")));
                int granted = 0, denied = 0;
                var handles = new List<TaskHandle<Unit>>();
                for (int t = 0; t < tasks; t++)
                {
                    int id = t;
                    // Half of the tasks hold a derived token: they share the parent's counter.
                    Func<Cx, Task> body = async c =>
                    {
                        for (int i = 0; i < attempts; i++)
                        {
                            if (c.TryDemand("app:op").IsAuthorized) Interlocked.Increment(ref granted);
                            else Interlocked.Increment(ref denied);
                            if (i % 8 == 0) await c.YieldAsync();
                        }
                    };
                    handles.Add(id % 2 == 0 ? governed.Spawn("w" + id, body) : governed.Spawn("w" + id, body, attenuate: m => m.Add(Caveat.Custom("worker", id.ToString(System.Globalization.CultureInfo.InvariantCulture)))));
                }
                foreach (var h in handles) await h.JoinAsync(cx);
                return (granted, denied);
            });
            Assert.True(o.IsOk, o.ToString());
            // The derived tokens carry a custom caveat this verifier has no checker for: their uses are denied before
            // counting, so every grant comes from the 4 plain tasks, and exactly `limit` of their 160 attempts succeed.
            Assert.Equal(limit, o.Value.granted);
            Assert.Equal(tasks * attempts - limit, o.Value.denied);
        }
    }

    [Fact]
    public async Task MaxUses_DerivedTokensShareTheParentsCounter_UnderConcurrency()
    {
        const int limit = 100;
        var v = Verifier().AddCustom("worker", (_, _) => true);
        var o = await RunAsync(async cx =>
        {
            var governed = cx.WithCapability(v, Token(Caveat.MaxUses(limit)));
            int granted = 0;
            var handles = Enumerable.Range(0, 6).Select(i => governed.Spawn("w" + i, async c =>
            {
                for (int k = 0; k < 50; k++)
                {
                    if (c.TryDemand("app:op").IsAuthorized) Interlocked.Increment(ref granted);
                    if (k % 5 == 0) await c.YieldAsync();
                }
            }, attenuate: m => m.Add(Caveat.Custom("worker", "w" + i)))).ToList();
            foreach (var h in handles) await h.JoinAsync(cx);
            return granted;
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(limit, o.Value);
    }

    [Fact]
    public async Task RateLimit_IsExactUnderConcurrency()
    {
        var o = await RunAsync(async cx =>
        {
            var governed = cx.WithCapability(Verifier(), Token(Caveat.RateLimit(37, TimeSpan.FromHours(24))));
            int granted = 0;
            var hs = Enumerable.Range(0, 4).Select(i => governed.Spawn("r" + i, async c =>
            {
                for (int k = 0; k < 30; k++)
                {
                    if (c.TryDemand("app:op").IsAuthorized) Interlocked.Increment(ref granted);
                    await c.YieldAsync();
                }
            })).ToList();
            foreach (var h in hs) await h.JoinAsync(cx);
            return granted;
        });
        Assert.True(o.IsOk, o.ToString());
        // 120 attempts within one day-window (unless the run straddles midnight UTC: then at most 74).
        Assert.InRange(o.Value, 37, 74);
    }

    [Fact]
    public async Task RegionAndTaskScope_AreCheckedAgainstTheCxIdentity()
    {
        var o = await RunAsync(async cx =>
        {
            var results = new List<string>();
            await cx.RegionAsync("scoped", async rcx =>
            {
                var inRegion = rcx.WithCapability(Verifier(), Token(Caveat.RegionScope(rcx.RegionId)));
                await inRegion.RegionAsync("nested", async ncx =>
                {
                    results.Add("nested:" + ncx.TryDemand("app:x").IsAuthorized);
                    await Task.CompletedTask;
                });
                var onlyMe = rcx.WithCapability(Verifier(), Token(Caveat.TaskScope(rcx.TaskId)));
                results.Add("self:" + onlyMe.TryDemand("app:x").IsAuthorized);
                var child = onlyMe.Spawn("child", c => Task.FromResult(c.TryDemand("app:x")));
                var verdict = await child.ValueAsync(rcx);
                results.Add("child:" + verdict.IsAuthorized + ":" + verdict.FailedCaveat);
            });
            // A token scoped to the "scoped" region, used from the root region (outside it).
            long scopedId = 0;
            await cx.RegionAsync("probe", async p => { scopedId = p.RegionId; await Task.CompletedTask; });
            var outside = cx.WithCapability(Verifier(), Token(Caveat.RegionScope(scopedId)));
            results.Add("outside:" + outside.TryDemand("app:x").IsAuthorized);
            return results;
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal(4, o.Value.Count);
        Assert.Equal("nested:True", o.Value[0]);
        Assert.Equal("self:True", o.Value[1]);
        Assert.StartsWith("child:False:task-scope ", o.Value[2], StringComparison.Ordinal);
        Assert.Equal("outside:False", o.Value[3]);
    }

    [Fact]
    public async Task SeveralTokens_AllMustAuthorize_SoAttachingNeverWidens()
    {
        var o = await RunAsync(cx =>
        {
            var a = cx.WithCapability(Verifier(), Token(Caveat.ResourceScope("app:a", "app:b")));
            var ab = a.WithCapability(Verifier(), Token(Caveat.ResourceScope("app:b", "app:c")));
            return Task.FromResult((ab.TryDemand("app:a").IsAuthorized, ab.TryDemand("app:b").IsAuthorized, ab.TryDemand("app:c").IsAuthorized, ab.Tokens().Count));
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal((false, true, false, 2), o.Value);
    }

    [Fact]
    public async Task ThirdPartyTokens_WithBoundDischarges_StayValidWhenAttenuated()
    {
        var authKey = Encoding.UTF8.GetBytes("auth service caveat key");
        var m = Token(Caveat.ResourceScope("app:**")).AddThirdPartyCaveat("auth", authKey, "user = alice"u8, new byte[24]);
        var bound = m.BindDischarge(Macaroon.Create(authKey, "user = alice"));
        var o = await RunAsync(async cx =>
        {
            var withDischarge = cx.WithCapability(Verifier(), m, [bound]);
            var withoutDischarge = cx.WithCapability(Verifier(), m);
            var child = withDischarge.Spawn("c", c => Task.FromResult((c.TryDemand("app:read").IsAuthorized, c.TryDemand("other").IsAuthorized)),
                attenuate: t => t.Add(Caveat.ResourceScope("app:read")));
            return (withDischarge.TryDemand("app:x").IsAuthorized, withoutDischarge.TryDemand("app:x").Kind, await child.ValueAsync(cx));
        });
        Assert.True(o.IsOk, o.ToString());
        Assert.Equal((true, (DenialKind?)DenialKind.MissingDischarge, (true, false)), o.Value);
    }

    // ---------------------------------------------------------------- Lab

    private static readonly LabOptions s_lab = new() { Epoch = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero) };

    [Fact]
    public void Lab_TimeCaveats_UseTheVirtualClock()
    {
        var seen = new List<bool>();
        var r = LabRuntime.Run(1, async cx =>
        {
            var t = cx.WithCapability(Verifier(), Token(Caveat.TimeBefore(s_lab.Epoch.AddHours(1)), Caveat.TimeAfter(s_lab.Epoch.AddMinutes(10))));
            seen.Add(t.TryDemand("app:x").IsAuthorized);      // at epoch: not valid yet
            await cx.SleepAsync(TimeSpan.FromMinutes(30));     // virtual: no real waiting
            seen.Add(t.TryDemand("app:x").IsAuthorized);      // valid
            await cx.SleepAsync(TimeSpan.FromHours(2));
            seen.Add(t.TryDemand("app:x").IsAuthorized);      // expired
        }, s_lab);
        Assert.Equal(new[] { false, true, false }, seen);
        Assert.True(r.VirtualTime >= TimeSpan.FromHours(2.5));
        // Each use outside the token's scope is an AmbientAuthority finding, naming the caveat.
        Assert.False(r.Passed);
        Assert.All(r.OracleFailures, f => Assert.Equal("AmbientAuthority", f.Oracle));
        Assert.Contains(r.OracleFailures, f => f.Message.Contains("time-after 2030-01-01T00:10:00Z", StringComparison.Ordinal));
        Assert.Contains(r.OracleFailures, f => f.Message.Contains("time-before 2030-01-01T01:00:00Z", StringComparison.Ordinal));
    }

    [Fact]
    public void Lab_AmbientAuthorityOracle_ReportsAConnectOutsideTheTokensScope()
    {
        var r = LabRuntime.Run(3, async cx =>
        {
            var scoped = cx.WithCapability(Verifier(), Token(Caveat.ResourceScope("net:connect:10.0.0.1:5432")));
            var worker = scoped.Spawn("worker", async w =>
            {
                try
                {
                    await w.TcpConnectAsync("10.0.0.2:5432");
                }
                catch (CapabilityDeniedException)
                {
                    // the test looks at the oracle, not at the exception
                }
            });
            await worker.JoinAsync(cx);
        }, s_lab);
        Assert.False(r.Passed);
        var f = Assert.Single(r.OracleFailures);
        Assert.Equal("AmbientAuthority", f.Oracle);
        Assert.Contains("outside its capability token's scope", f.Message, StringComparison.Ordinal);
        Assert.Contains("net:connect:10.0.0.2:5432", f.Message, StringComparison.Ordinal);
        Assert.Contains("resource-scope net:connect:10.0.0.1:5432", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lab_UsesWithinScope_AreClean_AcrossSeeds()
    {
        for (ulong seed = 0; seed < 20; seed++)
        {
            var r = LabRuntime.Run(seed, async cx =>
            {
                var t = cx.WithCapability(Verifier(), Token(Caveat.MaxUses(6), Caveat.ResourceScope("app:**")));
                int granted = 0;
                var hs = Enumerable.Range(0, 3).Select(i => t.Spawn("w" + i, async c =>
                {
                    for (int k = 0; k < 2; k++)
                    {
                        c.Demand("app:op");
                        granted++;
                        await c.YieldAsync();
                    }
                })).ToList();
                foreach (var h in hs) await h.JoinAsync(cx);
                Assert.Equal(6, granted);
            }, s_lab);
            Assert.True(r.Passed, r.Describe());
        }
    }
}

public class LabExplorationTests
{
    [Fact]
    public void Dpor_SeesTwoUsesOfOneCounter_AsDependent_AndExploresBothWinners()
    {
        var key = Encoding.UTF8.GetBytes("dpor key");
        var winners = new HashSet<string>();
        var result = LabRuntime.Explore(async cx =>
        {
            var t = cx.WithCapability(new MacaroonVerifier(key), Macaroon.Create(key, "id").Add(Caveat.MaxUses(1)));
            string? winner = null;
            // Each use sits in a step of its own (between yields), so only the ledger access makes the two uses dependent.
            Func<string, Func<Cx, Task>> use = name => async c =>
            {
                await c.YieldAsync();
                if (c.TryDemand("app:x").IsAuthorized) winner = name;
                await c.YieldAsync();
            };
            var a = t.Spawn("a", use("a"));
            var b = t.Spawn("b", use("b"));
            await a.JoinAsync(cx);
            await b.JoinAsync(cx);
            winners.Add(winner!);
        }, new ExploreOptions { Strategy = ExploreStrategy.Dpor, MaxSchedules = 2_000, StopOnFirstFailure = false });
        Assert.Equal(new[] { "a", "b" }, winners.Order());
        Assert.True(result.Exhausted, result.StopReason);
    }
}

public class FinalizerGovernanceTests
{
    [Fact]
    public async Task AFinalizerRegisteredThroughAGovernedCx_StaysGoverned()
    {
        var key = Encoding.UTF8.GetBytes("finalizer key");
        VerificationResult? inFinalizer = null;
        await using var rt = Runtime.Create(new RuntimeOptions { WorkerCount = 2, PrintDiagnostics = false });
        var o = await rt.RunAsync(async cx =>
        {
            await cx.RegionAsync("r", async rcx =>
            {
                var governed = rcx.WithCapability(new MacaroonVerifier(key), Macaroon.Create(key, "id").Add(Caveat.ResourceScope("app:a")));
                governed.Defer(fcx =>
                {
                    inFinalizer = fcx.TryDemand("app:b");
                    return Task.CompletedTask;
                });
                await Task.CompletedTask;
            });
        }).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(o.IsOk, o.ToString());
        Assert.NotNull(inFinalizer);
        Assert.False(inFinalizer.IsAuthorized);
        Assert.Equal("resource-scope app:a", inFinalizer.FailedCaveat);
    }
}
