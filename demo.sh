#!/usr/bin/env bash
# WatchStat demo on embedded defaults. Needs only the .NET 10 SDK and Node.js 20:
#   installs Azurite into ./node_modules, builds, starts Azurite (in memory) and the WeCom simulator on free
#   loopback ports, harvests a simulated live of 20,000 viewers into Table Storage with `watchstat harvest`,
#   prints a summary and where the rows are, and stops what it started.
# KEEP=1 ./demo.sh keeps Azurite and the simulator running afterwards so you can look at the tables.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
live="${1:-lv-demo-12000m8000x}"
logs=.demo
mkdir -p "$logs"
started=$(date +%s)

wait_for_line() { # file pattern
  for _ in $(seq 1 300); do
    grep -Eo "$2" "$1" 2>/dev/null | head -n 1 && return 0
    sleep 0.2
  done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing Azurite (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "==> building"
dotnet build WatchStat.slnx -nologo >"$logs/build.log" 2>&1 || { cat "$logs/build.log"; exit 1; }

pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop EXIT INT TERM

echo "==> starting Azurite (in memory, loopback)"
( cd "$logs" && exec node ../node_modules/azurite/dist/src/azurite.js --inMemoryPersistence --skipApiVersionCheck \
    --disableTelemetry --silent --blobPort 0 --queuePort 0 --tablePort 0 ) >"$logs/azurite.log" 2>&1 &
pids+=($!)
blob=$(wait_for_line "$logs/azurite.log" 'Blob service is successfully listening at http://127.0.0.1:[0-9]+' | grep -Eo '[0-9]+$')
queue=$(wait_for_line "$logs/azurite.log" 'Queue service is successfully listening at http://127.0.0.1:[0-9]+' | grep -Eo '[0-9]+$')
table=$(wait_for_line "$logs/azurite.log" 'Table service is successfully listening at http://127.0.0.1:[0-9]+' | grep -Eo '[0-9]+$')
export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$blob/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table/devstoreaccount1;"

echo "==> starting the WeCom simulator (loopback)"
dotnet WatchStat.WeComSimulator/bin/Debug/net10.0/WatchStat.WeComSimulator.dll --urls "http://127.0.0.1:0" >"$logs/simulator.log" 2>&1 &
pids+=($!)
sim=$(wait_for_line "$logs/simulator.log" 'listening on http://127.0.0.1:[0-9]+' | grep -Eo 'http://127.0.0.1:[0-9]+')
export WeCom__BaseUrl="$sim/" WeCom__CorpId=ww-sim-corp WeCom__Secret=sim-secret-0123456789abcdef

echo "==> watchstat harvest $live"
dotnet WatchStat.Cli/bin/Debug/net10.0/watchstat.dll harvest "$live"

echo "==> WeCom calls made: $(node -e "fetch('$sim/sim/counters').then(r=>r.json()).then(c=>console.log(JSON.stringify(c.calls)))")"
echo "==> demo took $(( $(date +%s) - started )) s"
if [ "${KEEP:-0}" = "1" ]; then
  echo "Azurite and the simulator keep running; connect with:"
  echo "  AzureWebJobsStorage='$AzureWebJobsStorage'"
  echo "  WeCom__BaseUrl=$WeCom__BaseUrl"
  echo "Press Enter to stop them."
  read -r _
fi
