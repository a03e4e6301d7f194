package versioning

import "context"

// Scope is the group a version operation acts for and the user acting: a
// run's group and owner, or an uploader's. Resolve finds only the scope
// group's datasets and models; versions made in a scope are its group's
// and its user's. No scope (a single-user server, the CLI) acts for the
// default group and finds every version.
type Scope struct {
	Group, Owner string
}

type scopeKey struct{}

// WithScope returns ctx acting for sc.
func WithScope(ctx context.Context, sc Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, sc)
}

// ScopeOf returns the scope ctx acts for; ok is false when it has none.
func ScopeOf(ctx context.Context) (sc Scope, ok bool) {
	sc, ok = ctx.Value(scopeKey{}).(Scope)
	return sc, ok
}

// sees reports whether a version of group is visible in ctx's scope.
func sees(ctx context.Context, group string) bool {
	sc, ok := ScopeOf(ctx)
	return !ok || groupName(sc.Group) == groupName(group)
}

func groupName(g string) string {
	if g == "" {
		return "default"
	}
	return g
}
