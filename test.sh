#!/usr/bin/env bash
# The whole test suite. Needs only the .NET 10 SDK and Node.js 20: Azurite is installed into ./node_modules
# (npm ci) and started by the tests themselves, in memory on free loopback ports, as is the WeCom simulator.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

dotnet test WatchStat.slnx --logger "console;verbosity=normal" "$@"
