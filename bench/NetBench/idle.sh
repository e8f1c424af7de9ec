#!/usr/bin/env bash
# Issue 9 item 13: server memory with N idle keep-alive connections (one request each), Asupersync.Http vs Kestrel
# in the same run, alternating per round. Prints each server's RSS and private bytes (smaps_rollup) at rest and
# with the N connections idle, and the difference per connection.
# Usage: bench/NetBench/idle.sh [connections=10000] [rounds=2]
set -euo pipefail
cd "$(dirname "$0")"
N=${1:-10000}; ROUNDS=${2:-2}
ulimit -n 20000
dotnet build -c Release -v q -nologo . >/dev/null
BIN=bin/Release/net10.0/NetBench.dll
kb() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/$3"; }
priv() { awk '/^Private_(Clean|Dirty):/ {s+=$2} END {print s}' "/proc/$1/smaps_rollup"; }
measure() { # name mode port
  dotnet $BIN "$2" "$3" >/dev/null 2>&1 & local spid=$!
  sleep 3
  local rss0 priv0; rss0=$(kb $spid VmRSS status); priv0=$(priv $spid)
  local out; out=$(mktemp)
  dotnet $BIN idle-load "$3" "$N" 30 >"$out" 2>&1 & local cpid=$!
  for _ in $(seq 600); do grep -q '^idle' "$out" && break; sleep 0.2; done
  grep -q '^idle' "$out" || { echo "$1: client did not finish: $(cat "$out")"; kill $cpid $spid 2>/dev/null; return; }
  sleep 5
  local rss1 priv1; rss1=$(kb $spid VmRSS status); priv1=$(priv $spid)
  kill $cpid 2>/dev/null || true; wait $cpid 2>/dev/null || true
  kill -TERM $spid 2>/dev/null || true # (a background job of a script ignores SIGINT)
  for _ in $(seq 50); do kill -0 $spid 2>/dev/null || break; sleep 0.1; done
  kill -KILL $spid 2>/dev/null || true; wait $spid 2>/dev/null || true
  rm -f "$out"
  printf '%-16s at rest RSS %7d KiB, private %7d KiB | %d idle: RSS %7d KiB, private %7d KiB | per connection: RSS %5.1f KiB, private %5.1f KiB\n' \
    "$1" "$rss0" "$priv0" "$N" "$rss1" "$priv1" "$(echo "($rss1-$rss0)/$N" | bc -l)" "$(echo "($priv1-$priv0)/$N" | bc -l)"
}
for r in $(seq "$ROUNDS"); do
  echo "--- round $r (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  if (( r % 2 )); then measure asupersync-http asupersync-http 9113; measure kestrel kestrel 9114
  else measure kestrel kestrel 9114; measure asupersync-http asupersync-http 9113; fi
done
