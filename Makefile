# make test: everything CI checks. make fuzz: the fuzz targets, longer.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Every module in the tree: the core module and each nested one.
MODULES := $(shell find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)
FUZZTIME ?= 3s

.PHONY: test fmt vet staticcheck unit fuzz-smoke bench-smoke fuzz bench

test: fmt vet staticcheck unit fuzz-smoke bench-smoke

fmt:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	@for m in $(MODULES); do (cd $$m && echo "go vet $$m" && go vet ./...); done

staticcheck:
	@for m in $(MODULES); do (cd $$m && echo "staticcheck $$m" && go run $(STATICCHECK) ./...); done

unit:
	@for m in $(MODULES); do (cd $$m && echo "go test $$m" && go test -race -count=1 ./...); done

fuzz-smoke:
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# Every benchmark once, in every module, so that none rots unnoticed.
bench-smoke:
	@for m in $(MODULES); do (cd $$m && echo "bench smoke $$m" && go test -run='^$$' -bench=. -benchtime=1x ./...); done

fuzz:
	@FUZZTIME=60s scripts/fuzz.sh

bench:
	go test -run='^$$' -bench=. -benchmem ./...
