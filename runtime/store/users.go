package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// User is a person of a multi-user server: roles (Operator, Data Scientist,
// ML Engineer, Production Engineer; a user with several gets the union) and
// the groups whose resources they share.
type User struct {
	Name      string
	Roles     []string
	Groups    []string
	CreatedAt time.Time
}

// Group is a set of users who share what they create and one GPU pool.
type Group struct {
	Name, Pool string
	Members    []string
	CreatedAt  time.Time
}

// DefaultGroup always exists (the migration makes it): new users join it.
const DefaultGroup = "default"

// The users and groups tables keep a name in their id column, so lists page
// like every other list.
var userTable = table{
	name:    "users",
	columns: "id, roles, created_at",
	keys:    map[string]string{"name": "id", "created_at": "created_at"},
	times:   map[string]bool{"created_at": true},
}

var groupTable = table{
	name:    "user_groups",
	columns: "id, pool, created_at",
	keys:    map[string]string{"name": "id", "pool": "pool", "created_at": "created_at"},
	times:   map[string]bool{"created_at": true},
}

// CreateUser stores u with its groups (the default group when it names
// none); a taken name is ErrConflict, an unknown group ErrNotFound.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	if len(u.Groups) == 0 {
		u.Groups = []string{DefaultGroup}
	}
	u.CreatedAt = now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO users (id, roles, created_at) VALUES (?, ?, ?)"),
			u.Name, strings.Join(u.Roles, ","), ms(u.CreatedAt))
		if err != nil {
			return conflict(err, fmt.Sprintf("user %q", u.Name))
		}
		return s.setMembership(ctx, tx, u.Name, u.Groups)
	})
}

// setMembership replaces a user's groups.
func (s *Store) setMembership(ctx context.Context, tx *sql.Tx, user string, groups []string) error {
	if _, err := tx.ExecContext(ctx, s.q("DELETE FROM group_members WHERE user_name = ?"), user); err != nil {
		return fmt.Errorf("set groups of %q: %w", user, err)
	}
	for _, g := range groups {
		var n int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM user_groups WHERE id = ?"), g).Scan(&n); err != nil {
			return fmt.Errorf("set groups of %q: %w", user, err)
		}
		if n == 0 {
			return fmt.Errorf("group %q: %w", g, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO group_members (group_name, user_name) VALUES (?, ?)"), g, user); err != nil {
			return conflict(err, fmt.Sprintf("member %q of group %q", user, g))
		}
	}
	return nil
}

// GetUser returns the user named name with its groups.
func (s *Store) GetUser(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.db.reads().QueryRowContext(ctx, s.q("SELECT "+userTable.columns+" FROM users WHERE id = ?"), name))
	if err = notFound(err, fmt.Sprintf("user %q", name)); err != nil {
		return u, err
	}
	members, err := s.membership(ctx, "user_name", []string{name})
	u.Groups = members[name]
	return u, err
}

func scanUser(row rowScanner) (User, error) {
	var u User
	var roles string
	var created int64
	err := row.Scan(&u.Name, &roles, &created)
	if roles != "" {
		u.Roles = strings.Split(roles, ",")
	}
	u.CreatedAt = fromMS(created)
	return u, err
}

// membership maps each key (users or groups, by the column) to the other
// side, sorted, in one query.
func (s *Store) membership(ctx context.Context, col string, keys []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(keys) == 0 {
		return out, nil
	}
	other := map[string]string{"user_name": "group_name", "group_name": "user_name"}[col]
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ")
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := s.db.reads().QueryContext(ctx, s.q(fmt.Sprintf("SELECT %s, %s FROM group_members WHERE %s IN (%s) ORDER BY %s, %s",
		col, other, col, marks, col, other)), args...)
	if err != nil {
		return nil, fmt.Errorf("group membership: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("group membership: %w", err)
		}
		out[k] = append(out[k], v)
	}
	return out, rows.Err()
}

// ListUsers returns one page of users with their groups.
func (s *Store) ListUsers(ctx context.Context, opts ListOptions) ([]User, Page, error) {
	var out []User
	page, err := s.list(ctx, userTable, opts, nil, nil, func(r rowScanner) (string, any, error) {
		u, err := scanUser(r)
		out = append(out, u)
		return u.Name, sortValue(opts.SortBy, map[string]any{"name": u.Name, "created_at": ms(u.CreatedAt)}), err
	})
	if err != nil {
		return nil, page, err
	}
	names := make([]string, len(out))
	for i, u := range out {
		names[i] = u.Name
	}
	members, err := s.membership(ctx, "user_name", names)
	for i := range out {
		out[i].Groups = members[out[i].Name]
	}
	return out, page, err
}

// UpdateUser replaces a user's roles and groups; nil leaves one unchanged.
func (s *Store) UpdateUser(ctx context.Context, name string, roles, groups []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM users WHERE id = ?"), name).Scan(&n); err != nil || n == 0 {
			return notFound(firstErr(err, sql.ErrNoRows), fmt.Sprintf("user %q", name))
		}
		if roles != nil {
			if _, err := tx.ExecContext(ctx, s.q("UPDATE users SET roles = ? WHERE id = ?"), strings.Join(roles, ","), name); err != nil {
				return fmt.Errorf("update user %q: %w", name, err)
			}
		}
		if groups != nil {
			return s.setMembership(ctx, tx, name, groups)
		}
		return nil
	})
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// DeleteUser deletes a user, its tokens and memberships; what it owns stays.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.execOne(ctx, fmt.Sprintf("user %q", name), "DELETE FROM users WHERE id = ?", name)
}

// CountUsers counts the users: none means a single-user server.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// AddToken stores a token's hash for user; the token itself is never stored.
func (s *Store) AddToken(ctx context.Context, user, hash string) error {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO user_tokens (hash, user_name, created_at) VALUES (?, ?, ?)"), hash, user, ms(now()))
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") || err != nil && strings.Contains(err.Error(), "23503") {
		return fmt.Errorf("user %q: %w", user, ErrNotFound)
	}
	return conflict(err, "token")
}

// UserByToken returns the user a token hash belongs to.
func (s *Store) UserByToken(ctx context.Context, hash string) (User, error) {
	var name string
	err := s.db.reads().QueryRowContext(ctx, s.q("SELECT user_name FROM user_tokens WHERE hash = ?"), hash).Scan(&name)
	if err = notFound(err, "token"); err != nil {
		return User{}, err
	}
	return s.GetUser(ctx, name)
}

// CreateGroup stores a group using pool.
func (s *Store) CreateGroup(ctx context.Context, g *Group) error {
	g.CreatedAt = now()
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO user_groups (id, pool, created_at) VALUES (?, ?, ?)"), g.Name, g.Pool, ms(g.CreatedAt))
	return conflict(err, fmt.Sprintf("group %q", g.Name))
}

func scanGroup(row rowScanner) (Group, error) {
	var g Group
	var created int64
	err := row.Scan(&g.Name, &g.Pool, &created)
	g.CreatedAt = fromMS(created)
	return g, err
}

// GetGroup returns a group with its members.
func (s *Store) GetGroup(ctx context.Context, name string) (Group, error) {
	g, err := scanGroup(s.db.QueryRowContext(ctx, s.q("SELECT "+groupTable.columns+" FROM user_groups WHERE id = ?"), name))
	if err = notFound(err, fmt.Sprintf("group %q", name)); err != nil {
		return g, err
	}
	m, err := s.membership(ctx, "group_name", []string{name})
	g.Members = m[name]
	return g, err
}

// ListGroups returns one page of groups with their members.
func (s *Store) ListGroups(ctx context.Context, opts ListOptions) ([]Group, Page, error) {
	var out []Group
	page, err := s.list(ctx, groupTable, opts, nil, nil, func(r rowScanner) (string, any, error) {
		g, err := scanGroup(r)
		out = append(out, g)
		return g.Name, sortValue(opts.SortBy, map[string]any{"name": g.Name, "pool": g.Pool, "created_at": ms(g.CreatedAt)}), err
	})
	if err != nil {
		return nil, page, err
	}
	names := make([]string, len(out))
	for i, g := range out {
		names[i] = g.Name
	}
	m, err := s.membership(ctx, "group_name", names)
	for i := range out {
		out[i].Members = m[out[i].Name]
	}
	return out, page, err
}

// GroupPools maps every group to its pool.
func (s *Store) GroupPools(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, pool FROM user_groups")
	if err != nil {
		return nil, fmt.Errorf("group pools: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var g, p string
		if err := rows.Scan(&g, &p); err != nil {
			return nil, fmt.Errorf("group pools: %w", err)
		}
		out[g] = p
	}
	return out, rows.Err()
}

// SetGroupPool assigns a group its pool.
func (s *Store) SetGroupPool(ctx context.Context, name, pool string) error {
	return s.execOne(ctx, fmt.Sprintf("group %q", name), "UPDATE user_groups SET pool = ? WHERE id = ?", pool, name)
}

// DeleteGroup deletes a group and its memberships.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	return s.execOne(ctx, fmt.Sprintf("group %q", name), "DELETE FROM user_groups WHERE id = ?", name)
}

// HasRole reports whether u has role.
func (u User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }
