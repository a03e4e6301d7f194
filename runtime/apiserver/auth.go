package apiserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/kubeline/kubeline/runtime/store"
)

// Roles (seed "DKube Roles & Workflow"). A user with several roles gets the
// union of their permissions.
const (
	RoleOperator           = "operator"
	RoleDataScientist      = "data-scientist"
	RoleMLEngineer         = "ml-engineer"
	RoleProductionEngineer = "production-engineer"
)

// Roles lists every role.
var Roles = []string{RoleOperator, RoleDataScientist, RoleMLEngineer, RoleProductionEngineer}

// perm is one capability a route needs.
type perm string

const (
	permPublic  perm = "public"  // no token needed
	permAny     perm = "any"     // any signed-in user
	permView    perm = "view"    // read what the user's groups made
	permDevelop perm = "develop" // create and change pipelines, experiments, projects, runs
	permPublish perm = "publish" // publish models for deployment
	permCatalog perm = "catalog" // view the model catalog
	permDeploy  perm = "deploy"  // test and deploy models
	permOperate perm = "operate" // the cluster: users, groups, pools
)

// rolePerms: Operator everything; Data Scientist develops but neither
// publishes nor sees the model catalog; ML Engineer as Data Scientist, and
// publishes; Production Engineer cannot develop or modify models, but views,
// tests and deploys them.
var rolePerms = map[string][]perm{
	RoleOperator:           {permView, permDevelop, permPublish, permCatalog, permDeploy, permOperate},
	RoleDataScientist:      {permView, permDevelop},
	RoleMLEngineer:         {permView, permDevelop, permPublish, permCatalog},
	RoleProductionEngineer: {permView, permCatalog, permDeploy},
}

// roleAliases lets users write the seed's abbreviations.
var roleAliases = map[string]string{"op": RoleOperator, "ds": RoleDataScientist, "ml": RoleMLEngineer, "pe": RoleProductionEngineer}

// NormalizeRoles maps abbreviations (op, ds, ml, pe) to role names, sorts
// them and drops repeats; an unknown role is an error naming field.
func NormalizeRoles(field string, roles []string) ([]string, error) {
	var out []string
	for i, r := range roles {
		r = strings.ToLower(strings.TrimSpace(r))
		if a, ok := roleAliases[r]; ok {
			r = a
		}
		if _, ok := rolePerms[r]; !ok {
			return nil, badRequest("%s[%d]: unknown role %q (want one of %s, or op, ds, ml, pe)", field, i, roles[i], strings.Join(Roles, ", "))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out, nil
}

// caller is the signed-in user of a request.
type caller struct{ store.User }

func (c *caller) can(p perm) bool {
	for _, r := range c.Roles {
		if slices.Contains(rolePerms[r], p) {
			return true
		}
	}
	return false
}

func (c *caller) operator() bool { return c.HasRole(RoleOperator) }

// sees reports whether the caller may see a group's resources: operators
// see every group, others their own. The empty namespace of resources made
// before multi-user mode belongs to the default group.
func (c *caller) sees(group string) bool {
	return c.operator() || slices.Contains(c.Groups, groupOf(group))
}

// groupOf maps a namespace to its group.
func groupOf(namespace string) string {
	if namespace == "" {
		return store.DefaultGroup
	}
	return namespace
}

type ctxKey int

const callerKey ctxKey = 0

func callerOf(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey).(*caller)
	return c
}

// NewToken returns a new random bearer token and the hash to store.
func NewToken() (token, hash string) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token = "kl_" + hex.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is what the store keeps of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func unauthenticated(format string, args ...any) error {
	return &apiError{http.StatusUnauthorized, fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &apiError{http.StatusForbidden, fmt.Sprintf(format, args...)}
}

// authenticate puts the token's user into the request context. A request
// without a token goes on anonymous (authorize refuses it unless the route
// is public); a token that is not valid is refused at once.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if !s.multiUser || h == "" {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			writeError(w, unauthenticated("Authorization: want \"Bearer TOKEN\""))
			return
		}
		u, err := s.store.UserByToken(r.Context(), HashToken(strings.TrimSpace(token)))
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, unauthenticated("Authorization: the token is not valid (make one with kubeline users create-token)"))
			return
		}
		if err != nil {
			writeError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey, &caller{u})))
	})
}

// authorize applies the route's policy (policies.go) to the request: the
// caller's roles, the group of the resource the route acts on, and, for
// routes that manage a resource, its owner. A resource outside the caller's
// groups is answered exactly as a missing one (404, visibility.go); the
// owner rule is checked only on what the caller sees. A single-user server
// allows everything.
func (s *Server) authorize(r *http.Request) error {
	if !s.multiUser {
		return nil
	}
	p, ok := policies[r.Pattern]
	if !ok {
		p = policy{need: permOperate} // a route nobody classified: operators only
	}
	if p.need == permPublic {
		return nil
	}
	c := callerOf(r.Context())
	if c == nil {
		return unauthenticated("this server is multi-user: send Authorization: Bearer TOKEN (kubeline users create-token)")
	}
	self := p.self != "" && r.PathValue(p.self) == c.Name
	if p.need != permAny && !c.can(p.need) && !self {
		return forbidden("user %q (roles %s) may not %s: %s %s needs the %s permission", c.Name, strings.Join(c.Roles, ","),
			p.need, r.Method, r.URL.Path, p.need)
	}
	for _, q := range []string{"namespace", "group"} {
		if g := r.URL.Query().Get(q); g != "" && !c.sees(g) {
			return hidden("group", g)
		}
	}
	if p.on.kind == "" {
		return nil
	}
	id := p.on.id(r)
	if id == "" {
		return nil
	}
	res, err := s.resourceOf(r.Context(), p.on.kind, id)
	switch {
	case errors.Is(err, store.ErrNotFound) && p.claims:
		return nil // the route makes it
	case errors.Is(err, store.ErrNotFound):
		return hidden(p.on.kind, id)
	case err != nil:
		return err
	case !c.sees(res.group) && p.claims:
		return fmt.Errorf("%s %q: %w", p.on.kind, id, store.ErrTaken)
	case !c.sees(res.group):
		return hidden(p.on.kind, id)
	case p.owner && !c.manages(res):
		owner := res.owner
		if owner == "" {
			owner = "an operator: it predates multi-user mode"
		}
		return forbidden("only the owner of %s %s or an operator may %s it (owner: %s)", p.on.kind, id, verbOf(r), owner)
	}
	return nil
}

// manages reports whether the caller may manage (change, archive, delete)
// a resource it sees: its owner or an operator.
func (c *caller) manages(res resource) bool { return c.operator() || res.owner == c.Name }

func verbOf(r *http.Request) string {
	if _, action, ok := strings.Cut(r.URL.Path, ":"); ok {
		return action
	}
	return map[string]string{"DELETE": "delete", "PATCH": "change", "POST": "change"}[r.Method]
}

// recordOwner records the caller as the owner of what a create route made.
func (s *Server) recordOwner(r *http.Request, v any) error {
	p := policies[r.Pattern]
	c := callerOf(r.Context())
	m, ok := v.(map[string]any)
	if p.creates == "" || c == nil || !ok {
		return nil
	}
	id, _ := m[idField[p.creates]].(string)
	if id == "" {
		return nil
	}
	return s.store.SetOwner(r.Context(), p.creates, id, c.Name)
}

var idField = map[string]string{"pipeline": "pipeline_id", "version": "pipeline_version_id", "experiment": "experiment_id",
	"recurring_run": "recurring_run_id"}

// groupFor is the group (namespace) a caller creates a resource in: the
// requested one, which the caller must be in, else the caller's first
// group. A single-user server keeps what was requested.
func (s *Server) groupFor(ctx context.Context, field, requested string) (string, error) {
	c := callerOf(ctx)
	if !s.multiUser || c == nil {
		return requested, nil
	}
	if requested != "" {
		if !c.sees(requested) {
			return "", hidden("group", requested) // the caller's answer for a group that does not exist
		}
		return requested, nil
	}
	if len(c.Groups) == 0 {
		return "", forbidden("user %q is in no group: an operator must add them to one", c.Name)
	}
	return c.Groups[0], nil
}

// visible restricts a list to the caller's groups (operators see all).
func (s *Server) visible(ctx context.Context, opts store.ListOptions) store.ListOptions {
	c := callerOf(ctx)
	if !s.multiUser || c == nil || c.operator() {
		return opts
	}
	var ns []any
	for _, g := range c.Groups {
		ns = append(ns, g)
		if g == store.DefaultGroup {
			ns = append(ns, "")
		}
	}
	if len(ns) == 0 {
		ns = []any{"\x00none"}
	}
	f := &store.Filter{}
	if opts.Filter != nil {
		f.Predicates = append(f.Predicates, opts.Filter.Predicates...)
	}
	f.Predicates = append(f.Predicates, store.Predicate{Key: "namespace", Op: store.OpIn, Values: ns})
	opts.Filter = f
	return opts
}
