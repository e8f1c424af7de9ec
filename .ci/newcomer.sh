#!/usr/bin/env bash
# The newcomer's path, checked on every CI run: pack every package into a local folder feed, then, in a scratch
# folder outside the repository, create a fresh console project and a fresh xunit project that take Asupersync only
# from that feed (nuget.org only for xunit and the test SDK), build and run the README's first program (stopped by
# SIGINT, it must drain and exit 0) and a test built from the README's Lab snippet, and install the CLI as a
# `dotnet tool` from the same feed. Expects a Release build of the solution (run after `dotnet build -c Release`).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d /tmp/asupersync-newcomer.XXXXXX)
trap 'rm -rf "$work"' EXIT
# A fresh version per run, so a package cached by an earlier run is never taken for this one.
suffix="newcomer.$(date -u +%Y%m%d%H%M%S).$$"
prefix=$(sed -nE 's:.*<VersionPrefix>([^<]+)</VersionPrefix>.*:\1:p' Directory.Build.props)
version="$prefix-$suffix"
feed="$work/feed"

step() { echo "newcomer: $*"; }

step "packing $version into $feed"
dotnet pack Asupersync.slnx -c Release --no-build -o "$feed" -p:VersionSuffix="$suffix" -v quiet -nologo >"$work/pack.log" 2>&1 \
  || { cat "$work/pack.log"; exit 1; }
for p in Asupersync Asupersync.Lab Asupersync.Net Asupersync.Http Asupersync.Hosting Asupersync.Cli; do
  [ -f "$feed/$p.$version.nupkg" ] || { echo "newcomer: missing package $p.$version.nupkg"; ls "$feed"; exit 1; }
done
[ -f "$feed/Asupersync.$version.snupkg" ] || { echo "newcomer: no symbol package for Asupersync"; exit 1; }

# Package-source mapping: Asupersync* may come from the local feed only.
cat >"$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="Asupersync*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
# Outside the repository: no Directory.Build.props, Directory.Packages.props or global.json of ours applies.
cat >"$work/Directory.Build.props" <<'XML'
<Project />
XML
cp "$work/Directory.Build.props" "$work/Directory.Build.targets"

# --- the README's first program, in a fresh console project --------------------------------------------------------
step "console project with the README's first program"
mkdir "$work/app"
cat >"$work/app/app.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Asupersync" Version="$version" />
  </ItemGroup>
</Project>
XML
# The first ```csharp block of the README, as it is printed there.
awk '/^```csharp$/ { if (!done) { inside = 1; next } } /^```$/ { if (inside) { inside = 0; done = 1 } } inside' README.md >"$work/app/Program.cs"
grep -q 'Runtime.Main' "$work/app/Program.cs" || { echo "newcomer: README's first csharp block is not a program"; exit 1; }
(cd "$work/app" && dotnet build -c Release -nologo -v quiet >"$work/app.log" 2>&1) || { cat "$work/app.log"; exit 1; }
# It runs until SIGINT; on SIGINT the worker drains and the process exits 0. (--foreground: without it timeout
# signals its whole process group too, and a second SIGINT means "cancel everything", exit 130.)
set +e
(cd "$work/app" && timeout --foreground --preserve-status -k 60 -s INT 8 dotnet bin/Release/net10.0/app.dll)
code=$?
set -e
[ "$code" -eq 0 ] || { echo "newcomer: the README's first program exited $code after SIGINT (expected 0)"; exit 1; }

# --- the README's Lab snippet, in a fresh xunit project ------------------------------------------------------------
step "xunit project with the README's Lab snippet"
mkdir "$work/labtests"
cat >"$work/labtests/labtests.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <IsPackable>false</IsPackable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Microsoft.NET.Test.Sdk" Version="18.0.1" />
    <PackageReference Include="xunit" Version="2.9.3" />
    <PackageReference Include="xunit.runner.visualstudio" Version="3.1.5" />
    <PackageReference Include="Asupersync.Lab" Version="$version" />
  </ItemGroup>
</Project>
XML
cat >"$work/labtests/ReadmeLabTests.cs" <<'CS'
using Asupersync;
using Asupersync.Lab;
using Xunit;

public class ReadmeLabTests
{
    private static async Task Program(Cx cx)
    {
        var outcome = await cx.RegionAsync("app", async cx =>
        {
            var a = cx.Spawn("a", async cx => { await cx.SleepAsync(TimeSpan.FromMilliseconds(5)); return 1; });
            var b = cx.Spawn("b", async cx => { await cx.SleepAsync(TimeSpan.FromMilliseconds(3)); return 2; });
            return await a.ValueAsync(cx) + await b.ValueAsync(cx);
        });
        if (!outcome.IsOk || outcome.Value != 3) throw new InvalidOperationException("unexpected " + outcome);
    }

    [Fact]
    public void Run_Passes()
    {
        var r = LabRuntime.Run(seed: 42, Program);
        Assert.True(r.Passed, r.Describe());
    }

    [Fact]
    public void ForSeeds_Passes() => LabTest.ForSeeds(20, Program);

    [Fact]
    public void Explore_Passes() => LabTest.Explore(Program);
}
CS
(cd "$work/labtests" && dotnet test -c Release -nologo >"$work/labtests.log" 2>&1) || { cat "$work/labtests.log"; exit 1; }
grep -E 'Passed!|total' "$work/labtests.log" | tail -2

# --- the CLI as a dotnet tool --------------------------------------------------------------------------------------
step "dotnet tool install Asupersync.Cli"
(cd "$work" && dotnet tool install Asupersync.Cli --version "$version" --tool-path "$work/tools" >"$work/tool.log" 2>&1) \
  || { cat "$work/tool.log"; exit 1; }
"$work/tools/asupersync" --help >"$work/help.txt" 2>&1 || { cat "$work/help.txt"; exit 1; }
grep -q 'asupersync' "$work/help.txt" || { echo "newcomer: asupersync --help printed:"; cat "$work/help.txt"; exit 1; }

step "ok"
