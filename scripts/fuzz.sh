#!/usr/bin/env bash
# Runs every fuzz target of every module for $FUZZTIME each (default 3s).
# go test -fuzz takes one target of one package at a time, so list them.
set -euo pipefail
FUZZTIME="${FUZZTIME:-3s}"
cd "$(dirname "$0")/.."
root="$PWD"
count=0
while IFS= read -r mod; do
	cd "$root/$mod"
	for pkg in $(go list ./...); do
		for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
			echo "fuzz $pkg $target ($FUZZTIME)"
			go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg" >/tmp/wicket-fuzz.log 2>&1 || {
				cat /tmp/wicket-fuzz.log
				exit 1
			}
			count=$((count + 1))
		done
	done
done < <(find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)
echo "fuzz: $count targets passed"
