#!/usr/bin/env bash
# Runs every fuzz target of every module for $FUZZTIME each (default 3s).
# go test -fuzz takes one target of one package at a time, so list them.
set -euo pipefail
FUZZTIME="${FUZZTIME:-3s}"
cd "$(dirname "$0")/.."
root="$PWD"
count=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
while IFS= read -r mod; do
	cd "$root/$mod"
	for pkg in $(go list ./...); do
		for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
			echo "fuzz $pkg $target ($FUZZTIME)"
			ok=0
			for attempt in 1 2; do
				if go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg" >"$log" 2>&1; then
					ok=1
					break
				fi
				# The fuzzing engine can miss its own deadline on a loaded
				# machine ("context deadline exceeded") without finding
				# anything; a real finding always writes a failing input.
				if grep -q "Failing input written" "$log" || ! grep -q "context deadline exceeded" "$log"; then
					break
				fi
				echo "fuzz $pkg $target: engine timed out without a finding; trying again"
			done
			if [ "$ok" != 1 ]; then
				cat "$log"
				exit 1
			fi
			count=$((count + 1))
		done
	done
done < <(find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)
echo "fuzz: $count targets passed"
