#!/usr/bin/env bash
# Sharded exploration throughput: `asupersync explore` over SCHEDULES schedules in one process (--shard 0/1)
# against two processes started together (--shard 0/2, --shard 1/2; timed from the first start to the last exit)
# followed by `asupersync merge`; rounds alternate. Both sides pay the same process start-up.
#   bench/CampaignBench/explore-shards.sh [schedules] [rounds]      (after the two Release builds below)
set -euo pipefail
cd "$(dirname "$0")/../.."
schedules=${1:-20000}
rounds=${2:-3}
dotnet build -c Release tools/Asupersync.Cli -v q -nologo > /dev/null
dotnet build -c Release bench/CampaignBench -v q -nologo > /dev/null
cli=(dotnet tools/Asupersync.Cli/bin/Release/net10.0/Asupersync.Cli.dll)
asm=bench/CampaignBench/bin/Release/net10.0/CampaignBench.dll
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
common=(explore -a "$asm" -p ShardPrograms.Workers --max-schedules "$schedules" --seed 11 -q --max-seconds 1200)
now() { date +%s.%N; }
echo "explore of $schedules schedules (portfolio; 3 tasks x 10 yields), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  t0=$(now); "${cli[@]}" "${common[@]}" --shard 0/1 --out "$dir/one.json"; t1=$(now)
  "${cli[@]}" "${common[@]}" --shard 0/2 --out "$dir/s/0.json" & p0=$!
  "${cli[@]}" "${common[@]}" --shard 1/2 --out "$dir/s/1.json" & p1=$!
  wait $p0; wait $p1; t2=$(now)
  "${cli[@]}" merge "$dir/s" --json > "$dir/merged.json"
  one=$(python3 -c "print(f'{$schedules/($t1-$t0):.0f} schedules/s ({$t1-$t0:.1f} s)')")
  two=$(python3 -c "print(f'{$schedules/($t2-$t1):.0f} schedules/s ({$t2-$t1:.1f} s)')")
  ratio=$(python3 -c "print(f'{($t1-$t0)/($t2-$t1):.2f}')")
  merged=$(python3 -c "import json;d=json.load(open('$dir/merged.json'));print(d['schedules'],'schedules,',d['classCount'],'classes, shards',d['shards'])")
  echo "round $r: 1 process $one; 2 shard processes $two; speed-up ${ratio}x; merged: $merged; load $(cut -d' ' -f1 /proc/loadavg)"
done
