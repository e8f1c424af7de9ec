#!/usr/bin/env bash
# Side-by-side loopback run: TCP echo (Asupersync.Net vs raw Socket) and HTTP/1.1 plaintext
# (Asupersync.Http vs Kestrel minimal API, load from wrk). Rounds are interleaved to spread machine noise.
# Usage: bench/NetBench/run.sh [rounds=3] [seconds=5]
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${1:-3}; SECS=${2:-5}
dotnet build -c Release -v q -nologo . >/dev/null
BIN=bin/Release/net10.0/NetBench.dll
pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done' EXIT
for m in "raw-echo 9101" "asupersync-echo 9102" "asupersync-http 9103" "kestrel 9104"; do
  dotnet $BIN $m >/dev/null 2>&1 & pids+=($!)
done
sleep 3
for r in $(seq "$ROUNDS"); do
  echo "--- round $r"
  dotnet $BIN echo-load 9101 32 "$SECS" 32 | sed 's/^/raw-echo        /'
  dotnet $BIN echo-load 9102 32 "$SECS" 32 | sed 's/^/asupersync-echo /'
  echo "asupersync-http $(wrk -t2 -c64 -d${SECS}s http://127.0.0.1:9103/plaintext | grep -E 'Requests/sec')"
  echo "kestrel         $(wrk -t2 -c64 -d${SECS}s http://127.0.0.1:9104/plaintext | grep -E 'Requests/sec')"
done
