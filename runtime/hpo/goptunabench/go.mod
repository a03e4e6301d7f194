// The goptuna comparison of runtime/hpo (doc.go): its own module so that
// kubeline's go.mod does not require goptuna.
module kubeline.bench/hpo-goptuna

go 1.26.8

// goptuna's tpe draws from math/rand's global source: let the benchmark
// seed it (rand.Seed is a no-op otherwise since Go 1.24).
godebug randseednop=0

require (
	github.com/c-bata/goptuna v0.9.0
	github.com/kubeline/kubeline v0.0.0
)

require gonum.org/v1/gonum v0.14.0 // indirect

replace github.com/kubeline/kubeline => ../../..
