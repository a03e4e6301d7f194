package main

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/apiserver"
)

// limitFlags are the server's budgets for what one request may cost; each
// exceeded budget is a 4xx answer naming its flag.
type limitFlags struct {
	api  apiserver.Limits
	spec spec.Limits
}

func (l *limitFlags) register(fs *pflag.FlagSet) {
	a, s := apiserver.DefaultLimits, spec.DefaultLimits
	fs.Int64Var(&l.api.JSONBody, "max-json-body", a.JSONBody, "most `BYTES` of a JSON request body (413 above)")
	fs.Int64Var(&l.api.SpecBody, "max-spec-body", a.SpecBody, "most `BYTES` of a JSON request body that carries a pipeline spec: runs, recurring runs, pipeline versions (413 above)")
	fs.IntVar(&l.api.Filter.Predicates, "max-filter-predicates", a.Filter.Predicates, "most predicates in a list's filter")
	fs.IntVar(&l.api.Filter.Values, "max-filter-values", a.Filter.Values, "most IN values in a list's filter, all predicates together")
	fs.Int64Var(&l.spec.Nodes, "max-yaml-nodes", s.Nodes, "most YAML `NODES` a pipeline file may hold with its aliases expanded")
	fs.Int64Var(&l.spec.Bytes, "max-yaml-bytes", s.Bytes, "most scalar `BYTES` a pipeline file may hold with its aliases expanded")
	fs.Int64Var(&l.spec.ArchiveBytes, "max-archive-bytes", s.ArchiveBytes, "most `BYTES` an uploaded .zip or .tar.gz may expand to, all members together")
	fs.IntVar(&l.spec.ArchiveMembers, "max-archive-members", s.ArchiveMembers, "most entries of an uploaded .zip or .tar.gz")
}

type limitsKey struct{}

// withLimits gives serveWith the server's limits (the defaults without).
func withLimits(ctx context.Context, l limitFlags) context.Context {
	return context.WithValue(ctx, limitsKey{}, l)
}

func limitsOf(ctx context.Context) limitFlags {
	if l, ok := ctx.Value(limitsKey{}).(limitFlags); ok {
		return l
	}
	return limitFlags{api: apiserver.DefaultLimits, spec: spec.DefaultLimits}
}
