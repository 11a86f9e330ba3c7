#!/usr/bin/env bash
# WatchStat demo on embedded defaults: builds everything, starts the WeCom simulator on a free loopback port
# and walks one simulated live (2,000 viewers) with the WeCom client, printing what it fetched.
# Needs only the .NET 10 SDK and Node.js 20. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
wait_for_port() {
  for _ in $(seq 1 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "nothing is listening on 127.0.0.1:$1" >&2; return 1
}

echo "==> building"
dotnet build WatchStat.slnx -v quiet -nologo -clp:ErrorsOnly

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT INT TERM

sim_port=$(free_port)
echo "==> starting the WeCom simulator on 127.0.0.1:$sim_port"
dotnet WatchStat.WeComSimulator/bin/Debug/net10.0/WatchStat.WeComSimulator.dll --urls "http://127.0.0.1:$sim_port" >/dev/null &
pids+=($!)
wait_for_port "$sim_port"

export WeCom__BaseUrl="http://127.0.0.1:$sim_port/" WeCom__CorpId=ww-sim-corp WeCom__Secret=sim-secret-0123456789abcdef
echo "==> watchstat walk lv-demo-1200m800x"
dotnet WatchStat.Cli/bin/Debug/net10.0/watchstat.dll walk lv-demo-1200m800x
