#!/usr/bin/env bash
# WatchStat demo on embedded defaults. Needs only the .NET 10 SDK and Node.js 20:
#   installs Azurite into ./node_modules, builds, starts Azurite (in memory) and the WeCom simulator on free
#   loopback ports, harvests a simulated live of 20,000 viewers into Table Storage with `watchstat harvest`,
#   prints a summary and where the rows are, and stops what it started.
# KEEP=1 ./demo.sh keeps Azurite and the simulator running afterwards so you can look at the tables.
#
# ./demo.sh --callback [livingid]: the same live, harvested the way WeCom starts it in production. The published
#   Functions app runs in a real Functions host; the simulator, as WeCom, checks the app's callback URL, ends the live
#   and pushes the signed, encrypted living_status_change event to /api/wecom/callback/default; the app starts the
#   harvest itself and its queue function fetches the pages. No POST by hand. Needs a Functions host: the source-built
#   one (WATCHSTAT_FUNCTIONS_HOST=<folder of run-host.sh>, or ../shared/functions-host) or Core Tools' `func`.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mode=cli
if [ "${1:-}" = "--callback" ]; then mode=callback; shift; fi
live="${1:-lv-demo-12000m8000x}"
logs=.demo
mkdir -p "$logs"
started=$(date +%s)

if [ "$mode" = callback ]; then
  if [ -n "${WATCHSTAT_FUNCTIONS_HOST:-}" ]; then host_cmd="$WATCHSTAT_FUNCTIONS_HOST/run-host.sh"
  elif [ -f ../shared/functions-host/run-host.sh ]; then host_cmd="$(cd ../shared/functions-host && pwd)/run-host.sh"
  elif command -v func >/dev/null 2>&1; then host_cmd=func
  else
    echo "demo.sh --callback runs the app in an Azure Functions host, and there is none here: set WATCHSTAT_FUNCTIONS_HOST" >&2
    echo "to the folder of the source-built host's run-host.sh, or install Azure Functions Core Tools v4 (func)." >&2
    echo "https://learn.microsoft.com/azure/azure-functions/functions-run-local" >&2
    exit 2
  fi
  [ "$host_cmd" = func ] || [ -f "$host_cmd" ] || { echo "no run-host.sh at $host_cmd" >&2; exit 2; }
fi

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

if [ "$mode" = cli ]; then
  echo "==> watchstat harvest $live"
  dotnet WatchStat.Cli/bin/Debug/net10.0/watchstat.dll harvest "$live"
else
  echo "==> publishing the Functions app"
  dotnet publish WatchStat.Functions -c Release -o "$logs/app" -nologo >"$logs/publish.log" 2>&1 || { cat "$logs/publish.log"; exit 1; }
  port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  key=$(node -e "console.log(require('crypto').randomBytes(24).toString('base64url'))")
  mkdir -p "$logs/secrets"
  node -e "require('fs').writeFileSync('$logs/secrets/host.json', JSON.stringify({masterKey:{name:'master',value:require('crypto').randomBytes(24).toString('base64url'),encrypted:false},functionKeys:[{name:'default',value:'$key',encrypted:false}],systemKeys:[],hostName:'127.0.0.1:$port',instanceId:'0',source:'runtime',decryptionKeyId:''}))"
  # The callback's keys, as the admin console shows them; demo values, in configuration (Key Vault in Azure).
  token=WatchStatDemo2026
  aeskey=$(node -e "console.log(require('crypto').randomBytes(32).toString('base64').slice(0,43))")
  echo "==> starting the app in a Functions host ($host_cmd) on 127.0.0.1:$port"
  export WeCom__CallbackToken="$token" WeCom__EncodingAesKey="$aeskey" \
         Harvest__NightlySchedule='0 0 18 * * *' Harvest__SweepSchedule='0 * * * * *' \
         FUNCTIONS_WORKER_RUNTIME=dotnet-isolated AzureWebJobsSecretStorageType=files FUNCTIONS_SECRETS_PATH="$PWD/$logs/secrets"
  if [ "$host_cmd" = func ]; then
    ( cd "$logs/app" && exec func host start --port "$port" ) >"$logs/host.log" 2>&1 &
  else
    "$host_cmd" "$logs/app" "$port" >"$logs/host.log" 2>&1 &
  fi
  pids+=($!)
  app="http://127.0.0.1:$port"
  # demo_http METHOD URL [JSON]: prints "<status> <body>"; the function key goes along for the app's own API.
  demo_http() {
    node -e "fetch(process.argv[2],{method:process.argv[1],headers:{'content-type':'application/json','x-functions-key':'$key'},body:process.argv[3]||undefined})
      .then(async r=>console.log(r.status+' '+(await r.text()))).catch(e=>console.log('0 '+e.message))" "$@"
  }
  for _ in $(seq 1 300); do
    [ "$(demo_http GET "$app/api/wecom/callback/default" | cut -d' ' -f1)" = 401 ] && break   # up, and it wants a signature
    sleep 0.5
  done
  echo "==> WeCom (the simulator) checks the callback URL, as the admin console does on saving it"
  demo_http PUT "$sim/sim/callbacks/ww-sim-corp" "{\"url\":\"$app/api/wecom/callback/default\",\"token\":\"$token\",\"encodingAesKey\":\"$aeskey\"}"
  echo "==> the live $live ends in WeCom, which pushes living_status_change (status 2) to the app"
  ended_ms=$(node -e "console.log(Date.now())")
  demo_http POST "$sim/sim/lives/$live/status" '{"status":2}'
  state=""
  for _ in $(seq 1 600); do
    answer=$(demo_http GET "$app/api/harvests/$live")
    state=$(node -e "try{const h=JSON.parse(process.argv[1].slice(4));console.log(h.state+' '+h.pagesDone+' pages, '+h.viewersWritten+' viewers')}catch{console.log('none')}" "$answer")
    printf '\r    harvest: %-60s' "$state"
    case "$state" in completed*|failed*) break ;; esac
    sleep 0.5
  done
  echo
  echo "==> from \"live ended\" to \"run completed\": $(( $(node -e "console.log(Date.now())") - ended_ms )) ms, started by the callback alone"
  dotnet WatchStat.Cli/bin/Debug/net10.0/watchstat.dll report "$live"
fi

echo "==> WeCom calls made: $(node -e "fetch('$sim/sim/counters').then(r=>r.json()).then(c=>console.log(JSON.stringify(c.calls)))")"
echo "==> demo took $(( $(date +%s) - started )) s"
if [ "${KEEP:-0}" = "1" ]; then
  echo "Azurite and the simulator keep running; connect with:"
  echo "  AzureWebJobsStorage='$AzureWebJobsStorage'"
  echo "  WeCom__BaseUrl=$WeCom__BaseUrl"
  echo "Press Enter to stop them."
  read -r _
fi
