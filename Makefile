# kubeline — build, test, benchmark, lint and fuzz.
GO        ?= go
BIN       ?= bin/kubeline
FUZZTIME  ?= 5m
BENCHTIME ?= 2000x
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

VERSITYGW ?= github.com/versity/versitygw/cmd/versitygw@v1.8.0

.PHONY: all build test tools bench lint fuzz example update-golden clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/kubeline

# The test command of the README. Needs ../shared/kfp-corpus beside the checkout.
test: lint tools
	PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover -s runtime/launcher/pyexec/tests
	$(GO) test -count=1 ./...
	bash examples/api-walkthrough/walkthrough.sh

# Programs the tests run: versitygw, the S3 server of runtime/artifact's
# tests, installed into $(go env GOBIN), else $(go env GOPATH)/bin, where the
# tests look for it (after $KUBELINE_VERSITYGW and PATH).
tools:
	@gobin="$$($(GO) env GOBIN)"; gobin="$${gobin:-$$($(GO) env GOPATH | cut -d: -f1)/bin}"; \
	if [ -n "$$KUBELINE_VERSITYGW" ] || command -v versitygw >/dev/null || [ -x "$$gobin/versitygw" ]; then :; \
	else echo "installing $(VERSITYGW) into $$gobin"; $(GO) install $(VERSITYGW); fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./compiler/...
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./runtime/engine/local/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzCompile -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./compiler/

# The README's first command, through make.
example: build
	$(BIN) run examples/hello-params/pipeline.yaml

update-golden:
	$(GO) test ./compiler/... -update

clean:
	rm -rf bin
