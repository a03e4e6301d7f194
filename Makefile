# kubeline — build, test, benchmark, lint and fuzz.
GO        ?= go
BIN       ?= bin/kubeline
# The in-pod launcher: only `launch` and `install` (cmd/kubeline-launch),
# static: the init container copies it into images of any distribution.
LAUNCH_BIN ?= bin/kubeline-launch
FUZZTIME  ?= 5m
BENCHTIME ?= 2000x
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

VERSITYGW ?= github.com/versity/versitygw/cmd/versitygw@v1.8.0
# helm, for the chart's tests (charts/). A plain build of helm assumes
# Kubernetes v1.20; these link flags make it assume the v1.33 that kubeline's
# client-go speaks (the tests pass --kube-version too).
HELM_VERSION ?= v3.22.0
HELM      ?= helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
HELM_LDFLAGS = -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=33 \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=33

.PHONY: all build test tools chart bench lint fuzz example update-golden clean e2e-env e2e

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/kubeline
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(LAUNCH_BIN) ./cmd/kubeline-launch

# The test command of the README. Needs ../shared/kfp-corpus beside the checkout.
# runtime/engine/local runs its corpora twice (single-user, and sandboxed as a
# multi-user server's steps): more than go test's default 10 minutes on a
# busy machine.
test: lint tools
	PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover -s runtime/launcher/pyexec/tests
	$(GO) test -count=1 -timeout 20m ./...
	bash examples/newcomer.sh   # every example README's commands as written (api-walkthrough's too), git status unchanged

# Programs the tests run: versitygw, the S3 server of runtime/artifact's
# tests, and helm, which charts/'s tests run; each installed only when
# missing into $(go env GOBIN), else $(go env GOPATH)/bin, where the tests
# look for it (after $KUBELINE_VERSITYGW / $KUBELINE_HELM and PATH).
tools:
	@gobin="$$($(GO) env GOBIN)"; gobin="$${gobin:-$$($(GO) env GOPATH | cut -d: -f1)/bin}"; \
	if [ -n "$$KUBELINE_VERSITYGW" ] || command -v versitygw >/dev/null || [ -x "$$gobin/versitygw" ]; then :; \
	else echo "installing $(VERSITYGW) into $$gobin (once; it compiles for minutes and prints nothing meanwhile)"; $(GO) install $(VERSITYGW); fi; \
	if [ -n "$$KUBELINE_HELM" ] || command -v helm >/dev/null || [ -x "$$gobin/helm" ]; then :; \
	else echo "installing $(HELM) into $$gobin (once; it compiles for minutes and prints nothing meanwhile)"; $(GO) install -ldflags "$(HELM_LDFLAGS)" $(HELM); fi

# The chart's checks alone: helm lint --strict, helm template with the
# default and ci/ values, every object decoded strictly, the Dockerfile.
chart: tools
	$(GO) test -count=1 ./charts/

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./compiler/...
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./runtime/engine/local/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Each fuzz target in turn, FUZZTIME each, one worker: the compiler, the
# YAML node bound, and the API server's request decoding (list queries,
# KFP JSON bodies, uploads, the bodies of kubeline's own routes; no 5xx,
# no panic).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzCompile -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./compiler/
	$(GO) test -run '^$$' -fuzz FuzzNodeBound -fuzztime $(FUZZTIME) -parallel 1 ./compiler/spec/
	for f in FuzzListRequest FuzzJSONBody FuzzUpload FuzzKubelineBody; do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s -parallel 1 ./runtime/apiserver/ || exit 1; done

# The README's first command, through make.
example: build
	$(BIN) run examples/hello-params/pipeline.yaml

# The e2e environment's binaries (Kubernetes, etcd, kwok, Argo's
# workflow-controller), built from the Go module proxy into
# ~/.cache/kubeline-e2e; what is built already is skipped. See e2e/README.md.
e2e-env:
	bash e2e/cluster.sh build

# The Argo engine, the chart and the smoke workflows against the e2e
# environment (a real kube-apiserver and Argo controller, kwok's fake pods).
e2e: tools
	bash e2e/run.sh

update-golden:
	$(GO) test ./compiler/... -update

clean:
	rm -rf bin
