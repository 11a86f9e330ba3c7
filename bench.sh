#!/usr/bin/env bash
# The WatchStat benchmark: builds Release, starts Azurite (in memory) and the WeCom simulator itself, measures the
# harvest against the storage ceiling, a naive baseline, WeCom latency, the queue path and memory, then the fleet
# (figure 11: discovery of 50 anchors' 15,000 lives over two years, night 1 and night 2; figure 12: 50 lives of 2,000
# viewers on 4 instances and a CLI under a corp limit of 600 calls a minute and 6,000 an hour; figure 13: the
# stalled-run sweeper's storage transactions beside 10,000 finished runs; once each, about 12 minutes), then the published app in a
# real Functions host (figure 9, skipped when no host is found), prints the table and writes it to
# artifacts/benchmark.md. Options: --repeat N (3), --viewers N (100000), --small-viewers N (10000),
# --latency-viewers N (20000), --host-lives N (10), --fleet-anchors N (50; the issue's 200 takes hours on
# Azurite, see Program.cs), --fleet-lives N (300 per anchor), --load-lives N (50), --load-viewers N (2000),
# --load-instances N (4), --sweep-finished N (10000), --page-viewers N,N (20000,100000: figure 14, a live's report page
# of each size loaded in headless Chromium, skipped when no chromium is found),
# --only host|local|fleet|page (the real host with the queue path beside it; all but the real host and the fleet; the
# fleet alone; or the report page alone; written to artifacts/benchmark-host.md / -local.md / -fleet.md / -page.md),
# --out FILE.
# Exit code 1 when a goal is missed.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The source-built Functions host beside this checkout, as CI has it, unless told otherwise.
if [ -z "${WATCHSTAT_FUNCTIONS_HOST:-}" ] && [ -f ../shared/functions-host/run-host.sh ]; then
  export WATCHSTAT_FUNCTIONS_HOST="$(pwd)/../shared/functions-host"
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
dotnet build WatchStat.Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly
exec dotnet WatchStat.Benchmarks/bin/Release/net10.0/WatchStat.Benchmarks.dll "$@"
