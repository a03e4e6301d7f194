package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the postgres driver
	_ "modernc.org/sqlite"             // the sqlite driver
)

// Sentinel errors, for errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	ErrInvalid  = errors.New("invalid")
)

// Store is the metadata store over one SQL database.
type Store struct {
	db       *conns // the writer, and a SQLite file's readers (conns.go)
	postgres bool
	path     string // the SQLite file
	// unlock and release end the SQLite file's guard lock (sqlite.go).
	unlock, release func()
}

// Open opens a store: "postgres://..." or "postgresql://..." is PostgreSQL,
// anything else a SQLite file path (":memory:" for a private in-memory one),
// optionally followed by ?_pragma=NAME(VALUE)&... applied after kubeline's
// own (busy_timeout(10000), WAL, foreign keys); a SQLite file has one
// writer and a pool of readers (conns.go). The schema is migrated to the
// newest version. A SQLite store that cannot be opened says why: the
// directory is read-only or full, or which processes lock the database.
func Open(ctx context.Context, dsn string) (*Store, error) {
	path := SQLitePath(dsn)
	s := &Store{path: path, db: &conns{}}
	var err error
	extra := ""
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s.postgres = true
		s.db.DB, err = sql.Open("pgx", dsn)
	} else {
		if _, q, ok := strings.Cut(dsn, "?"); ok && q != "" {
			extra = "&" + q
		}
		prepareSQLite(path)
		s.db.DB, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"+extra)
		if err == nil {
			s.db.SetMaxOpenConns(1) // one writer: SQLite serialises anyway
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, s.describe(fmt.Errorf("open store: %w", err))
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, s.describe(err)
	}
	if !s.postgres && path != ":memory:" {
		if s.unlock, s.release, err = guard(path); err != nil {
			s.db.Close()
			return nil, err
		}
		if err := s.openReaders(ctx, extra); err != nil {
			s.Close()
			return nil, s.describe(err)
		}
	}
	return s, nil
}

// SQLitePath is the file of a SQLite DSN ("" for PostgreSQL).
func SQLitePath(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return ""
	}
	path, _, _ := strings.Cut(dsn, "?")
	return path
}

// describe says what a storage fault is: for SQLite, the file system's
// refusal or the processes locking the database.
func (s *Store) describe(err error) error {
	if s.postgres || s.path == "" || s.path == ":memory:" {
		return Fault(err)
	}
	return diagnoseOpen(s.path, err)
}

// Close closes the database (its guard lock first, so SQLite's last
// connection checkpoints the log as usual).
func (s *Store) Close() error {
	if s.unlock == nil {
		return s.db.Close()
	}
	s.unlock()
	err := s.db.Close()
	s.release()
	s.unlock, s.release = nil, nil
	return err
}

// migrations are applied in order, each once; never edit one that shipped.
var migrations = []string{
	`CREATE TABLE pipelines (
		id TEXT PRIMARY KEY, name TEXT NOT NULL, display_name TEXT NOT NULL,
		description TEXT NOT NULL DEFAULT '', namespace TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL, UNIQUE (namespace, name));
	CREATE INDEX pipelines_created ON pipelines (created_at, id);
	CREATE TABLE pipeline_versions (
		id TEXT PRIMARY KEY, pipeline_id TEXT NOT NULL REFERENCES pipelines (id),
		name TEXT NOT NULL, display_name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
		spec TEXT NOT NULL, code_source_url TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL,
		UNIQUE (pipeline_id, name));
	CREATE INDEX pipeline_versions_created ON pipeline_versions (pipeline_id, created_at, id);
	CREATE TABLE experiments (
		id TEXT PRIMARY KEY, name TEXT NOT NULL, display_name TEXT NOT NULL,
		description TEXT NOT NULL DEFAULT '', namespace TEXT NOT NULL DEFAULT '',
		storage_state TEXT NOT NULL, created_at BIGINT NOT NULL, last_run_created_at BIGINT NOT NULL DEFAULT 0,
		UNIQUE (namespace, name));
	CREATE INDEX experiments_created ON experiments (created_at, id);
	CREATE TABLE runs (
		id TEXT PRIMARY KEY, experiment_id TEXT NOT NULL DEFAULT '', display_name TEXT NOT NULL,
		description TEXT NOT NULL DEFAULT '', namespace TEXT NOT NULL DEFAULT '', storage_state TEXT NOT NULL,
		pipeline_id TEXT NOT NULL DEFAULT '', pipeline_version_id TEXT NOT NULL DEFAULT '',
		pipeline_spec TEXT NOT NULL DEFAULT '', runtime_config TEXT NOT NULL DEFAULT '',
		service_account TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, state_history TEXT NOT NULL DEFAULT '[]',
		error TEXT NOT NULL DEFAULT '', recurring_run_id TEXT NOT NULL DEFAULT '', workflow TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL, scheduled_at BIGINT NOT NULL DEFAULT 0, finished_at BIGINT NOT NULL DEFAULT 0);
	CREATE INDEX runs_created ON runs (created_at, id);
	CREATE INDEX runs_experiment ON runs (experiment_id, created_at, id);
	CREATE INDEX runs_state ON runs (state);
	CREATE TABLE recurring_runs (
		id TEXT PRIMARY KEY, display_name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
		namespace TEXT NOT NULL DEFAULT '', experiment_id TEXT NOT NULL DEFAULT '',
		pipeline_id TEXT NOT NULL DEFAULT '', pipeline_version_id TEXT NOT NULL DEFAULT '',
		pipeline_spec TEXT NOT NULL DEFAULT '', runtime_config TEXT NOT NULL DEFAULT '',
		trigger_spec TEXT NOT NULL, mode TEXT NOT NULL, no_catchup BOOLEAN NOT NULL DEFAULT FALSE,
		max_concurrency BIGINT NOT NULL DEFAULT 1, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
		last_fired_at BIGINT NOT NULL DEFAULT 0);
	CREATE INDEX recurring_runs_created ON recurring_runs (created_at, id);`,
	// The UI and the SDK filter runs by state and storage state and page by
	// creation time: keep both in one index each.
	`CREATE INDEX runs_state_created ON runs (state, created_at, id);
	CREATE INDEX runs_storage_created ON runs (storage_state, created_at, id)`,
	// Dataset and model versions, their links to runs, and run metrics.
	`CREATE TABLE versions (
		kind TEXT NOT NULL, name TEXT NOT NULL, version BIGINT NOT NULL, digest TEXT NOT NULL,
		size BIGINT NOT NULL DEFAULT 0, key TEXT NOT NULL, uri TEXT NOT NULL, run_id TEXT NOT NULL DEFAULT '',
		task TEXT NOT NULL DEFAULT '', source_key TEXT NOT NULL DEFAULT '', metadata TEXT NOT NULL DEFAULT '{}',
		created_at BIGINT NOT NULL, PRIMARY KEY (kind, name, version), UNIQUE (kind, name, digest));
	CREATE TABLE version_links (
		id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, version BIGINT NOT NULL,
		run_id TEXT NOT NULL, task TEXT NOT NULL DEFAULT '', key TEXT NOT NULL, produced BOOLEAN NOT NULL,
		created_at BIGINT NOT NULL);
	CREATE INDEX version_links_version ON version_links (kind, name, version);
	CREATE INDEX version_links_run ON version_links (run_id);
	CREATE TABLE run_metrics (
		run_id TEXT NOT NULL, task TEXT NOT NULL, artifact TEXT NOT NULL, name TEXT NOT NULL,
		value DOUBLE PRECISION NOT NULL, PRIMARY KEY (run_id, task, artifact, name))`,
	// Users, tokens (hashed), groups and their members, GPU pools, owners of
	// resources, projects, and each run's place in GPU admission. The
	// default group exists from the start.
	`CREATE TABLE users (id TEXT PRIMARY KEY, roles TEXT NOT NULL, created_at BIGINT NOT NULL);
	CREATE INDEX users_created ON users (created_at, id);
	CREATE TABLE user_tokens (
		hash TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE, created_at BIGINT NOT NULL);
	CREATE TABLE user_groups (id TEXT PRIMARY KEY, pool TEXT NOT NULL, created_at BIGINT NOT NULL);
	CREATE TABLE group_members (
		group_name TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
		user_name TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE, PRIMARY KEY (group_name, user_name));
	CREATE INDEX group_members_user ON group_members (user_name);
	INSERT INTO user_groups (id, pool, created_at) VALUES ('default', 'default', 0);
	CREATE TABLE gpu_pools (id TEXT PRIMARY KEY, gpu_type TEXT NOT NULL, nodes TEXT NOT NULL, created_at BIGINT NOT NULL);
	CREATE TABLE owners (kind TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (kind, id));
	CREATE TABLE projects (
		id TEXT PRIMARY KEY, experiment_id TEXT NOT NULL UNIQUE, group_name TEXT NOT NULL, metric TEXT NOT NULL,
		direction TEXT NOT NULL, pipeline TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL);
	CREATE INDEX projects_created ON projects (created_at, id);
	CREATE TABLE run_admission (
		run_id TEXT PRIMARY KEY, status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', group_name TEXT NOT NULL,
		gpus BIGINT NOT NULL, largest_step BIGINT NOT NULL, resource TEXT NOT NULL DEFAULT '',
		dynamic BOOLEAN NOT NULL DEFAULT FALSE, multi_node BOOLEAN NOT NULL DEFAULT FALSE,
		start_anyway BOOLEAN NOT NULL DEFAULT FALSE, enqueued_at BIGINT NOT NULL, pool TEXT NOT NULL DEFAULT '',
		nodes TEXT NOT NULL DEFAULT '{}', updated_at BIGINT NOT NULL);
	CREATE INDEX run_admission_status ON run_admission (status, enqueued_at, run_id)`,
	// The model catalog: published model versions.
	`CREATE TABLE model_catalog (
		name TEXT NOT NULL, version BIGINT NOT NULL, published_by TEXT NOT NULL DEFAULT '',
		published_at BIGINT NOT NULL, PRIMARY KEY (name, version))`,
	// Clusters runs can be sent to (Argo Workflows through a kubeconfig).
	`CREATE TABLE clusters (
		name TEXT PRIMARY KEY, kubeconfig TEXT NOT NULL DEFAULT '', context TEXT NOT NULL DEFAULT '',
		namespace TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL)`,
	// Why a recurring run's newest firing started no run (a bad spec, a
	// deleted version, a store fault), and when.
	`ALTER TABLE recurring_runs ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
	ALTER TABLE recurring_runs ADD COLUMN last_error_at BIGINT NOT NULL DEFAULT 0`,
	// The int64 ids ML Metadata speaks, for kubeline's runs, tasks and
	// artifacts (runtime/mlmd): one per (scope, key), never reused.
	`CREATE TABLE mlmd_ids (id BIGINT PRIMARY KEY, scope TEXT NOT NULL, key TEXT NOT NULL, UNIQUE (scope, key))`,
	// Multi-user isolation: every kind kubeline adds is held by a group
	// (ownership.go); datasets and models that exist belong to the default
	// group. Versions record who made them.
	`ALTER TABLE owners ADD COLUMN group_name TEXT NOT NULL DEFAULT '';
	CREATE INDEX owners_group ON owners (group_name, kind);
	INSERT INTO owners (kind, id, owner, group_name) SELECT DISTINCT kind, name, '', 'default' FROM versions;
	ALTER TABLE versions ADD COLUMN owner TEXT NOT NULL DEFAULT ''`,
	// Model monitoring (#22): recorded predictions (their payloads are in
	// the artifact store), monitors with their evaluated windows and
	// alerts, and deployments on registered clusters (applied or imported).
	`CREATE TABLE predictions (
		seq BIGINT PRIMARY KEY, deployment TEXT NOT NULL, model TEXT NOT NULL DEFAULT '', protocol TEXT NOT NULL DEFAULT '',
		at BIGINT NOT NULL, latency_us BIGINT NOT NULL, status BIGINT NOT NULL, inputs TEXT NOT NULL DEFAULT '[]',
		outputs TEXT NOT NULL DEFAULT '[]', payload_key TEXT NOT NULL DEFAULT '', payload_line BIGINT NOT NULL DEFAULT 0);
	CREATE INDEX predictions_deployment ON predictions (deployment, seq);
	CREATE INDEX predictions_payload ON predictions (payload_key);
	CREATE TABLE monitors (
		name TEXT PRIMARY KEY, deployment TEXT NOT NULL, spec TEXT NOT NULL, created_at BIGINT NOT NULL,
		windows BIGINT NOT NULL DEFAULT 0, last_seq BIGINT NOT NULL DEFAULT 0, action TEXT NOT NULL DEFAULT '{}');
	CREATE INDEX monitors_deployment ON monitors (deployment);
	CREATE TABLE monitor_windows (
		monitor TEXT NOT NULL, idx BIGINT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL,
		closed_at BIGINT NOT NULL, baseline TEXT NOT NULL DEFAULT '', result TEXT NOT NULL, PRIMARY KEY (monitor, idx));
	CREATE TABLE monitor_alerts (
		id TEXT PRIMARY KEY, monitor TEXT NOT NULL, metric TEXT NOT NULL, feature TEXT NOT NULL DEFAULT '',
		raised_window BIGINT NOT NULL, raised_at BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL,
		limit_value DOUBLE PRECISION NOT NULL, cleared_window BIGINT NOT NULL DEFAULT 0, cleared_at BIGINT NOT NULL DEFAULT 0,
		cleared_value DOUBLE PRECISION NOT NULL DEFAULT 0);
	CREATE INDEX monitor_alerts_monitor ON monitor_alerts (monitor, raised_window);
	CREATE TABLE cluster_deployments (
		name TEXT PRIMARY KEY, cluster TEXT NOT NULL, namespace TEXT NOT NULL DEFAULT '', inference_service TEXT NOT NULL,
		model TEXT NOT NULL DEFAULT '', imported BOOLEAN NOT NULL DEFAULT FALSE, created_at BIGINT NOT NULL)`,
	// The container image catalog (image.go): standard images (group '')
	// and each group's; IDEs (ide.go), admitted like runs: their admission
	// records say which kind waits.
	`CREATE TABLE images (
		group_name TEXT NOT NULL, name TEXT NOT NULL, image TEXT NOT NULL, framework TEXT NOT NULL DEFAULT '',
		version TEXT NOT NULL DEFAULT '', gpu BOOLEAN NOT NULL DEFAULT FALSE, command TEXT NOT NULL DEFAULT '',
		source TEXT NOT NULL DEFAULT '', build TEXT NOT NULL DEFAULT '', owner TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL, PRIMARY KEY (group_name, name));
	` + standardImages + `
	CREATE TABLE ides (
		name TEXT PRIMARY KEY, group_name TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '', image TEXT NOT NULL,
		image_ref TEXT NOT NULL, command TEXT NOT NULL DEFAULT '[]', gpus BIGINT NOT NULL DEFAULT 0,
		code TEXT NOT NULL DEFAULT '', datasets TEXT NOT NULL DEFAULT '[]', project TEXT NOT NULL DEFAULT '',
		status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', history TEXT NOT NULL DEFAULT '[]',
		url TEXT NOT NULL DEFAULT '', token TEXT NOT NULL DEFAULT '', workflow TEXT NOT NULL DEFAULT '',
		spec TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL, finished_at BIGINT NOT NULL DEFAULT 0);
	CREATE INDEX ides_group ON ides (group_name, name);
	ALTER TABLE run_admission ADD COLUMN kind TEXT NOT NULL DEFAULT 'run'`,
	// FeatureSets (kind: FeatureSet): the declared features a featureset's
	// versions are checked against; group and owner in owners.
	`CREATE TABLE featuresets (
		name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at BIGINT NOT NULL)`,
	// Recording writes a row a prediction: one index fewer to keep
	// (TrimPredictions finds payloads by deployment and sequence).
	`DROP INDEX predictions_payload`,
	// What a list of runs shows of a run beyond its columns (runlisting.go),
	// so that listing decodes no spec or workflow.
	`CREATE TABLE run_listings (run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
		spec TEXT NOT NULL DEFAULT '', tasks TEXT NOT NULL DEFAULT '')`,
	// Recorded predictions a batch a row (prediction.go): the rows of
	// before become batches of one (fields joined by a tab character).
	`CREATE TABLE prediction_batches (
		deployment TEXT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL,
		payload_key TEXT NOT NULL DEFAULT '', summaries TEXT NOT NULL, PRIMARY KEY (deployment, first_seq));
	CREATE INDEX prediction_batches_last ON prediction_batches (last_seq);
	INSERT INTO prediction_batches (deployment, first_seq, last_seq, payload_key, summaries)
		SELECT deployment, seq, seq, payload_key, CAST(at AS TEXT) || '	' || CAST(latency_us AS TEXT) || '	' ||
		CAST(status AS TEXT) || '	' || CAST(payload_line AS TEXT) || '	' || model || '	' || protocol || '	' ||
		inputs || '	' || outputs FROM predictions;
	DROP TABLE predictions`,
	// The console (#23): which runs are HPO experiments (hpo.go), and each
	// pool's usage as it changed (poolusage.go).
	`CREATE TABLE hpo_experiments (run_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL);
	CREATE INDEX hpo_experiments_created ON hpo_experiments (created_at, run_id);
	CREATE TABLE pool_usage (
		pool TEXT NOT NULL, at BIGINT NOT NULL, total BIGINT NOT NULL, used BIGINT NOT NULL, queued BIGINT NOT NULL,
		PRIMARY KEY (pool, at))`,
	// How many runs there are of each namespace, experiment, storage state
	// and state, kept by triggers, for the total_size of runs lists
	// (runcount.go; SQLite only).
	runCountsMigration,
	// A version's lineage and usage (#23): the group and state of the runs
	// of a version's links read from an index, not from the runs' rows
	// (each holding its workflow).
	`CREATE INDEX runs_linked ON runs (id, namespace, state)`,
	// A version's links in the order they were made, so its usage's newest
	// page is read without sorting every link (#23).
	`CREATE INDEX version_links_version_created ON version_links (kind, name, version, created_at, id)`,
	// The Pipelines UI sorts runs by name too: without an index a page
	// sorted all runs with their listings (seconds at 100,000 runs).
	`CREATE INDEX runs_name ON runs (display_name, id)`,
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for i, m := range migrations {
		v := i + 1
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), v).Scan(&n); err != nil || n > 0 {
				return err
			}
			for _, stmt := range migrationStatements(m, s.postgres) {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
	}
	return nil
}

func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	return inTx(ctx, s.db.BeginTx, f)
}

// inTx runs f in a transaction begun by begin (a database's or one
// connection's BeginTx): committed if f succeeds, rolled back if not.
func inTx(ctx context.Context, begin func(context.Context, *sql.TxOptions) (*sql.Tx, error), f func(*sql.Tx) error) error {
	tx, err := begin(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// q rewrites ? placeholders as $1, $2 ... for PostgreSQL.
func (s *Store) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// conflict maps unique-constraint violations to ErrConflict.
func conflict(err error, what string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "UNIQUE constraint") || strings.Contains(msg, "duplicate key") || strings.Contains(msg, "23505") {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// execOne runs a statement that must touch exactly the row of what (an
// update or delete by id): no row is ErrNotFound.
func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}
