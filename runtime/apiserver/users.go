package apiserver

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/store"
)

// kubelineRoutes registers kubeline's own API (/apis/kubeline/v1): users,
// groups, pools, projects, leaderboards, compare and run admission.
func (s *Server) kubelineRoutes(h func(string, func(*http.Request) (any, error))) {
	h("GET "+kv1+"/whoami", s.whoami)
	h("GET "+kv1+"/users", s.listUsers)
	h("POST "+kv1+"/users", s.createUser)
	h("GET "+kv1+"/users/{name}", s.getUser)
	h("PATCH "+kv1+"/users/{name}", s.updateUser)
	h("DELETE "+kv1+"/users/{name}", s.deleteUser)
	h("POST "+kv1+"/users/{name}/tokens", s.createToken)
	h("GET "+kv1+"/groups", s.listGroups)
	h("POST "+kv1+"/groups", s.createGroup)
	h("GET "+kv1+"/groups/{name}", s.getGroup)
	h("PATCH "+kv1+"/groups/{name}", s.updateGroup)
	h("DELETE "+kv1+"/groups/{name}", s.deleteGroup)
	h("GET "+kv1+"/pools", s.listPools)
	h("POST "+kv1+"/pools", s.createPool)
	h("GET "+kv1+"/pools/{name}", s.getPool)
	h("PATCH "+kv1+"/pools/{name}", s.updatePool)
	h("DELETE "+kv1+"/pools/{name}", s.deletePool)
	h("GET "+kv1+"/projects", s.listProjects)
	h("POST "+kv1+"/projects", s.createProject)
	h("GET "+kv1+"/projects/{name}", s.getProject)
	h("DELETE "+kv1+"/projects/{name}", s.deleteProject)
	h("POST "+kv1+"/projects/{action}", s.projectAction)
	h("GET "+kv1+"/projects/{name}/leaderboard", s.leaderboard)
	h("GET "+kv1+"/projects/{name}/versions", s.projectVersions)
	h("GET "+kv1+"/runs/{id}", s.runAdmission)
	h("POST "+kv1+"/runs/{action}", s.runStartAnyway)
	h("GET "+kv1+"/compare", s.compare)
}

func userJSON(u store.User) map[string]any {
	return map[string]any{"name": u.Name, "roles": nonNil(u.Roles), "groups": nonNil(u.Groups), "created_at": timestamp(u.CreatedAt)}
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func (s *Server) whoami(r *http.Request) (any, error) {
	c := callerOf(r.Context())
	if c == nil {
		return map[string]any{"name": "", "roles": []string{RoleOperator}, "groups": []string{store.DefaultGroup}, "multi_user": s.multiUser,
			"permissions": permsOf([]string{RoleOperator})}, nil
	}
	m := userJSON(c.User)
	m["multi_user"] = true
	m["permissions"] = permsOf(c.Roles)
	return m, nil
}

// permsOf lists the permissions roles give, sorted: what the console shows
// a user (the policy table still decides every request).
func permsOf(roles []string) []string {
	out := []string{}
	for _, r := range roles {
		for _, p := range rolePerms[r] {
			if !slices.Contains(out, string(p)) {
				out = append(out, string(p))
			}
		}
	}
	slices.Sort(out)
	return out
}

type userBody struct {
	Name   string   `json:"name"`
	Roles  []string `json:"roles"`
	Groups []string `json:"groups"`
}

// validName checks a name used in paths: letters, digits, '-', '_', '.'.
func validName(field, name string) error {
	if name == "" {
		return badRequest("%s is required", field)
	}
	if strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" || len(name) > 63 {
		return badRequest("%s: %q: use at most 63 letters, digits, '-', '_' and '.'", field, name)
	}
	return nil
}

func (s *Server) createUser(r *http.Request) (any, error) {
	if !s.multiUser {
		return nil, &apiError{http.StatusConflict, "this server runs in single-user mode: start it with --multi-user to add users"}
	}
	var b userBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if err := validName("user.name", b.Name); err != nil {
		return nil, err
	}
	roles, err := NormalizeRoles("user.roles", b.Roles)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		return nil, badRequest("user.roles: give at least one role (%s)", strings.Join(Roles, ", "))
	}
	u := &store.User{Name: b.Name, Roles: roles, Groups: b.Groups}
	if err := s.store.CreateUser(r.Context(), u); err != nil {
		return nil, groupsErr(err)
	}
	got, err := s.store.GetUser(r.Context(), u.Name)
	return userJSON(got), err
}

func (s *Server) getUser(r *http.Request) (any, error) {
	u, err := s.store.GetUser(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return userJSON(u), nil
}

func (s *Server) listUsers(r *http.Request) (any, error) {
	opts, err := listOptions(r)
	if err != nil {
		return nil, err
	}
	us, page, err := s.store.ListUsers(r.Context(), opts)
	return listed("users", us, page, err, userJSON)
}

func (s *Server) updateUser(r *http.Request) (any, error) {
	var b userBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	if b.Name != "" && b.Name != name {
		return nil, badRequest("user.name: a user cannot be renamed")
	}
	roles, err := NormalizeRoles("user.roles", b.Roles)
	if err != nil {
		return nil, err
	}
	if b.Roles != nil && len(roles) == 0 {
		return nil, badRequest("user.roles: a user keeps at least one role")
	}
	if b.Roles == nil {
		roles = nil
	}
	if err := s.store.UpdateUser(r.Context(), name, roles, b.Groups); err != nil {
		return nil, groupsErr(err)
	}
	return s.getUser(r)
}

func (s *Server) deleteUser(r *http.Request) (any, error) {
	if c := callerOf(r.Context()); c != nil && c.Name == r.PathValue("name") {
		return nil, badRequest("user %q: an operator cannot delete themself", c.Name)
	}
	return map[string]any{}, s.store.DeleteUser(r.Context(), r.PathValue("name"))
}

// createToken makes a bearer token for a user; it is shown only here.
func (s *Server) createToken(r *http.Request) (any, error) {
	name := r.PathValue("name")
	if !s.multiUser {
		return nil, &apiError{http.StatusConflict, "this server runs in single-user mode: it needs no tokens (start it with --multi-user)"}
	}
	token, hash := NewToken()
	if err := s.store.AddToken(r.Context(), name, hash); err != nil {
		return nil, err
	}
	return map[string]any{"user": name, "token": token}, nil
}

func groupJSON(g store.Group) map[string]any {
	return map[string]any{"name": g.Name, "pool": g.Pool, "members": nonNil(g.Members), "created_at": timestamp(g.CreatedAt)}
}

func (s *Server) listGroups(r *http.Request) (any, error) {
	opts, err := listOptions(r)
	if err != nil {
		return nil, err
	}
	if groups := s.groupsOf(r.Context()); groups != nil { // non-operators list their own groups
		f := &store.Filter{Predicates: []store.Predicate{{Key: "name", Op: store.OpIn, Values: []any{"\x00none"}}}}
		for _, g := range groups {
			f.Predicates[0].Values = append(f.Predicates[0].Values, g)
		}
		if opts.Filter != nil {
			f.Predicates = append(f.Predicates, opts.Filter.Predicates...)
		}
		opts.Filter = f
	}
	gs, page, err := s.store.ListGroups(r.Context(), opts)
	return listed("groups", gs, page, err, groupJSON)
}

func (s *Server) getGroup(r *http.Request) (any, error) {
	g, err := s.store.GetGroup(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return groupJSON(g), nil
}

type groupBody struct {
	Name string `json:"name"`
	Pool string `json:"pool"`
}

// checkPool answers 400 naming field unless pool exists.
func (s *Server) checkPool(r *http.Request, field, pool string) error {
	if pool == admission.DefaultPool {
		return nil
	}
	ps, err := s.store.ListPools(r.Context())
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Name == pool {
			return nil
		}
	}
	return badRequest("%s: there is no pool %q", field, pool)
}

func (s *Server) createGroup(r *http.Request) (any, error) {
	var b groupBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if err := validName("group.name", b.Name); err != nil {
		return nil, err
	}
	if b.Pool == "" {
		b.Pool = admission.DefaultPool
	}
	if err := s.checkPool(r, "group.pool", b.Pool); err != nil {
		return nil, err
	}
	g := &store.Group{Name: b.Name, Pool: b.Pool}
	if err := s.store.CreateGroup(r.Context(), g); err != nil {
		return nil, err
	}
	return groupJSON(*g), nil
}

func (s *Server) updateGroup(r *http.Request) (any, error) {
	var b groupBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if b.Pool == "" {
		return nil, badRequest("group.pool is required: the pool the group's runs use")
	}
	if err := s.checkPool(r, "group.pool", b.Pool); err != nil {
		return nil, err
	}
	if err := s.store.SetGroupPool(r.Context(), r.PathValue("name"), b.Pool); err != nil {
		return nil, err
	}
	s.changed("pool", b.Pool, r.PathValue("name")) // its groups changed (changes.go)
	if err := s.Admit(s.ctx); err != nil {
		return nil, err
	}
	return s.getGroup(r)
}

func (s *Server) deleteGroup(r *http.Request) (any, error) {
	name := r.PathValue("name")
	if name == store.DefaultGroup {
		return nil, badRequest("group %q is the default group: it cannot be deleted", name)
	}
	g, err := s.store.GetGroup(r.Context(), name)
	if err != nil {
		return nil, err
	}
	if len(g.Members) > 0 {
		return nil, &apiError{http.StatusConflict, "group " + name + " has members (" + strings.Join(g.Members, ", ") + "): move them to another group first"}
	}
	owns, err := s.store.GroupHoldings(r.Context(), name)
	if err != nil {
		return nil, err
	}
	if len(owns) > 0 {
		var what []string
		for _, kind := range slices.Sorted(maps.Keys(owns)) {
			what = append(what, fmt.Sprintf("%d %s", owns[kind], kind))
		}
		return nil, &apiError{http.StatusConflict, "group " + name + " still owns " + strings.Join(what, ", ") +
			": delete them first (a group made later under this name would get them)"}
	}
	return map[string]any{}, s.store.DeleteGroup(r.Context(), name)
}

// groupsErr names the field of an unknown group.
func groupsErr(err error) error {
	if errors.Is(err, store.ErrNotFound) && strings.HasPrefix(err.Error(), "group ") {
		return badRequest("user.groups: %v", err)
	}
	return err
}
