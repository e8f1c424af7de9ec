#!/usr/bin/env bash
# Side-by-side loopback run (issue 12 item 5): the project's servers against their .NET baselines under the same
# loads, in one run, alternating which server of a pair goes first in each round (background load hits both alike).
#   TCP echo, closed loop       NetBench echo-load, 50 connections, 64-byte messages   raw Socket  vs Asupersync.Net
#   TCP echo, 16 pipelined      the same, 16 messages in flight per connection         raw Socket  vs Asupersync.Net
#   HTTP plaintext c=64         wrk -t1 -c64 GET /plaintext                            Kestrel     vs Asupersync.Http
#   HTTP plaintext, 16 pipelined wrk -t1 -c64 -s pipeline.lua -- 16                    Kestrel     vs Asupersync.Http
#   HTTPS plaintext c=64        wrk -t1 -c64 https://…/plaintext (self-signed, TLS)    Kestrel TLS vs Asupersync.Http TLS
# CPU per request is the server process's user+system time over the load (/proc/PID/stat) divided by the requests
# it answered (echo: including the load's 1 s warm-up, which its total counts).
# Usage: bench/NetBench/run.sh [rounds=3] [seconds=5] [loads="echo echo16 http http16 https"]
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${1:-3}; SECS=${2:-5}; LOADS=${3:-"echo echo16 http http16 https"}
command -v wrk >/dev/null || { echo "run.sh: wrk is needed (apt-get install wrk)" >&2; exit 2; }
dotnet build -c Release -v q -nologo . >/dev/null
BIN=bin/Release/net10.0/NetBench.dll
TCK=$(getconf CLK_TCK)
OUT=$(mktemp); declare -A PID PORT
pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; rm -f "$OUT"' EXIT
i=0
for m in raw-echo asupersync-echo kestrel asupersync-http kestrel-https asupersync-https; do
  PORT[$m]=$((9101 + i)); i=$((i + 1))
  dotnet $BIN $m "${PORT[$m]}" >/dev/null 2>&1 & PID[$m]=$!; pids+=($!)
done
for m in "${!PORT[@]}"; do # wait until every server listens (bounded: 60 s)
  for _ in $(seq 120); do (exec 3<>/dev/tcp/127.0.0.1/${PORT[$m]}) 2>/dev/null && break; sleep 0.5; done
done
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# one LOAD against one SERVER: prints "requests/s total-requests"
drive() {
  local load=$1 server=$2 port=${PORT[$2]}
  case $load in
    echo)   dotnet $BIN echo-load "$port" 50 "$SECS" 64 1  | awk '{print $3, $NF}' ;;
    echo16) dotnet $BIN echo-load "$port" 50 "$SECS" 64 16 | awk '{print $3, $NF}' ;;
    http)   wrk -t1 -c64 -d"${SECS}s" "http://127.0.0.1:$port/plaintext" | awk '/requests in/{t=$1} /Requests\/sec/{r=$2} END{print r, t}' ;;
    http16) wrk -t1 -c64 -d"${SECS}s" -s pipeline.lua "http://127.0.0.1:$port/plaintext" -- 16 | awk '/requests in/{t=$1} /Requests\/sec/{r=$2} END{print r, t}' ;;
    https)  wrk -t1 -c64 -d"${SECS}s" "https://127.0.0.1:$port/plaintext" | awk '/requests in/{t=$1} /Requests\/sec/{r=$2} END{print r, t}' ;;
  esac
}
pair() {
  case $1 in
    echo|echo16) echo "raw-echo asupersync-echo" ;;
    http|http16) echo "kestrel asupersync-http" ;;
    https)       echo "kestrel-https asupersync-https" ;;
  esac
}

echo "NetBench run.sh: $ROUNDS rounds x ${SECS} s, loads: $LOADS; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  for load in $LOADS; do
    read -r base proj <<<"$(pair "$load")"
    order="$base $proj"; [ $((r % 2)) -eq 0 ] && order="$proj $base"
    for server in $order; do
      c0=$(cpu "${PID[$server]}")
      read -r rate total <<<"$(drive "$load" "$server")"
      c1=$(cpu "${PID[$server]}")
      us=$(awk -v c=$((c1 - c0)) -v t="$total" -v k="$TCK" 'BEGIN{printf "%.2f", (t > 0 ? c / k * 1e6 / t : 0)}')
      printf 'round %d  %-7s %-17s %12.0f req/s  %7s CPU us/req\n' "$r" "$load" "$server" "$rate" "$us"
      echo "$load $server $r $rate $us" >>"$OUT"
    done
  done
done

echo
echo "medians over $ROUNDS rounds (ratio: the median of the per-round ratios project/baseline)"
printf '%-7s %-16s %12s %12s %7s %14s %14s %9s\n' load baseline base-req/s proj-req/s ratio base-CPU-us proj-CPU-us CPU-ratio
for load in $LOADS; do
  read -r base proj <<<"$(pair "$load")"
  awk -v L="$load" -v B="$base" -v P="$proj" '
    function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                       return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    $1 == L && $2 == B { br[$3] = $4; bc[$3] = $5 }
    $1 == L && $2 == P { pr[$3] = $4; pc[$3] = $5 }
    END {
      n = 0; for (k in br) { n++; x1[n] = br[k]; x2[n] = pr[k]; x3[n] = pr[k] / br[k]; x4[n] = bc[k]; x5[n] = pc[k]; x6[n] = bc[k] > 0 ? pc[k] / bc[k] : 0 }
      printf "%-7s %-16s %12.0f %12.0f %6.2fx %14.2f %14.2f %8.2fx\n", L, B, median(x1, n), median(x2, n), median(x3, n), median(x4, n), median(x5, n), median(x6, n)
    }' "$OUT"
done
