package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func recorded(dep, key string, from, n int) []Prediction {
	var ps []Prediction
	for i := from; i < from+n; i++ {
		ps = append(ps, Prediction{Deployment: dep, Model: dep + "@v1", Protocol: "v1", At: time.UnixMilli(int64(1000 * (i + 1))).UTC(),
			Latency: time.Duration(i+1) * time.Microsecond, Status: 200, Inputs: fmt.Sprintf(`[{"x":%d,"c":"a\tb"}]`, i),
			Outputs: fmt.Sprintf("[%d]", i), PayloadKey: key, PayloadLine: i - from})
	}
	return ps
}

func inputsOf(ps []Prediction) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Inputs)
	}
	return out
}

func wantInputs(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf(`[{"x":%d,"c":"a\tb"}]`, i))
	}
	return out
}

// testPredictions: batches of two deployments interleaved (one row per
// batch and deployment), read back a prediction at a time from any
// sequence number, counted, and trimmed to the newest keep (a batch cut
// in two keeps its newer part).
func testPredictions(t *testing.T, s *Store) {
	ctx := context.Background()
	// batch 1: a 0..4 then b 0..2; batch 2: a 5..9; batch 3: b 3..3, a 10..11
	for _, b := range [][]Prediction{
		append(recorded("a", "pa/1", 0, 5), recorded("b", "pb/1", 0, 3)...),
		recorded("a", "pa/2", 5, 5),
		append(recorded("b", "pb/3", 3, 1), recorded("a", "pa/3", 10, 2)...),
	} {
		if err := s.AddPredictions(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Predictions(ctx, "a", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantInputs(0, 12), inputsOf(all)); d != "" {
		t.Fatalf("a's predictions (-want +got)\n%s", d)
	}
	want := recorded("a", "pa/2", 5, 5)[2]
	want.Seq = 11 // a 0..4 are 1..5, b 0..2 6..8, a 5..9 9..13
	if d := cmp.Diff(want, all[7]); d != "" {
		t.Fatalf("a's 8th prediction (-want +got)\n%s", d)
	}
	for _, c := range []struct {
		after int64
		limit int
		want  []string
		count int
	}{
		{0, 3, wantInputs(0, 3), 12},
		{3, 4, wantInputs(3, 7), 9},      // across the first two batches
		{10, 100, wantInputs(7, 12), 5},  // from within the second batch
		{13, 100, wantInputs(10, 12), 2}, // b's 3 (seq 14) in between
		{16, 100, nil, 0},
	} {
		got, err := s.Predictions(ctx, "a", c.after, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.want, inputsOf(got)); d != "" {
			t.Errorf("after %d, limit %d (-want +got)\n%s", c.after, c.limit, d)
		}
		if n, err := s.CountPredictions(ctx, "a", c.after); err != nil || n != c.count {
			t.Errorf("count after %d: %d %v, want %d", c.after, n, err, c.count)
		}
	}
	if last, err := s.LastPrediction(ctx); err != nil || last != 16 {
		t.Fatalf("last prediction %d %v, want 16", last, err)
	}
	// Keep 6 of a's 12: batch 1 goes (its payload object with it), batch
	// 2 keeps its newest 4.
	gone, err := s.TrimPredictions(ctx, "a", 6)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"pa/1"}, gone); d != "" {
		t.Fatalf("payload objects gone (-want +got)\n%s", d)
	}
	kept, _ := s.Predictions(ctx, "a", 0, 100)
	if d := cmp.Diff(wantInputs(6, 12), inputsOf(kept)); d != "" {
		t.Fatalf("kept (-want +got)\n%s", d)
	}
	if kept[0].Seq != 10 || kept[0].PayloadKey != "pa/2" || kept[0].PayloadLine != 1 {
		t.Fatalf("the cut batch's first kept: %+v", kept[0])
	}
	if n, _ := s.CountPredictions(ctx, "a", 0); n != 6 {
		t.Fatalf("%d kept, want 6", n)
	}
	if gone, err := s.TrimPredictions(ctx, "a", 6); err != nil || len(gone) != 0 {
		t.Fatalf("trim again: %v %v", gone, err)
	}
	if gone, err := s.TrimPredictions(ctx, "a", 2); err != nil || strings.Join(gone, ",") != "pa/2" {
		t.Fatalf("trim to 2: %v %v, want pa/2", gone, err)
	}
	if b, _ := s.Predictions(ctx, "b", 0, 100); len(b) != 4 {
		t.Fatalf("b's predictions after a's trims: %d, want 4", len(b))
	}
}

// testPredictionsMigration: predictions recorded a row each (the schema
// before prediction_batches) are read back the same after the migration.
func testPredictionsMigration(t *testing.T, s *Store) {
	ctx := context.Background()
	v := 0
	for i, m := range migrations {
		if strings.Contains(m, "CREATE TABLE prediction_batches") {
			v = i + 1
		}
	}
	for _, stmt := range []string{
		"DROP TABLE prediction_batches",
		fmt.Sprintf("DELETE FROM schema_migrations WHERE version = %d", v),
		`CREATE TABLE predictions (
		seq BIGINT PRIMARY KEY, deployment TEXT NOT NULL, model TEXT NOT NULL DEFAULT '', protocol TEXT NOT NULL DEFAULT '',
		at BIGINT NOT NULL, latency_us BIGINT NOT NULL, status BIGINT NOT NULL, inputs TEXT NOT NULL DEFAULT '[]',
		outputs TEXT NOT NULL DEFAULT '[]', payload_key TEXT NOT NULL DEFAULT '', payload_line BIGINT NOT NULL DEFAULT 0)`,
		`INSERT INTO predictions VALUES (1, 'a', 'm@v1', 'v1', 1000, 7, 200, '[{"x":1}]', '[2]', 'pa/1', 0),
		(2, 'a', 'm@v1', 'v2', 2000, 8, 500, '[]', '[]', 'pa/1', 1), (3, 'b', 'n@v2', 'v1', 3000, 9, 200, '[3]', '[6]', 'pb/1', 0)`,
	} {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Predictions(ctx, "a", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Prediction{
		{Seq: 1, Deployment: "a", Model: "m@v1", Protocol: "v1", At: time.UnixMilli(1000).UTC(), Latency: 7 * time.Microsecond, Status: 200,
			Inputs: `[{"x":1}]`, Outputs: "[2]", PayloadKey: "pa/1"},
		{Seq: 2, Deployment: "a", Model: "m@v1", Protocol: "v2", At: time.UnixMilli(2000).UTC(), Latency: 8 * time.Microsecond, Status: 500,
			Inputs: "[]", Outputs: "[]", PayloadKey: "pa/1", PayloadLine: 1},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("migrated (-want +got)\n%s", d)
	}
	if last, _ := s.LastPrediction(ctx); last != 3 {
		t.Fatalf("last %d, want 3", last)
	}
	if err := s.AddPredictions(ctx, recorded("a", "pa/2", 2, 2)); err != nil {
		t.Fatal(err)
	}
	// The rows of before share their payload object: it goes with the last.
	if gone, err := s.TrimPredictions(ctx, "a", 3); err != nil || len(gone) != 0 {
		t.Fatalf("trim to 3: %v %v, want none gone", gone, err)
	}
	if gone, err := s.TrimPredictions(ctx, "a", 2); err != nil || strings.Join(gone, ",") != "pa/1" {
		t.Fatalf("trim to 2: %v %v, want pa/1", gone, err)
	}
}

// TestAddPredictionsKeepsWriterSynchronous: a batch of predictions is
// committed without an fsync (lazyTx), and the writer then goes back to
// the synchronous mode it had — SQLite's FULL, or the DSN's own — so the
// other writes keep theirs (mutation-checked: without the restore the
// writer stayed at NORMAL, 1).
func TestAddPredictionsKeepsWriterSynchronous(t *testing.T) {
	for _, c := range []struct {
		dsn  string
		want int
	}{{"", 2}, {"?_pragma=synchronous(3)", 3}} {
		ctx := context.Background()
		s, err := Open(ctx, filepath.Join(t.TempDir(), "k.db")+c.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for i := 0; i < 3; i++ {
			if err := s.AddPredictions(ctx, recorded("a", fmt.Sprintf("pa/%d", i), 2*i, 2)); err != nil {
				t.Fatal(err)
			}
			var mode int
			if err := s.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if mode != c.want {
				t.Fatalf("DSN %q: the writer's synchronous mode after batch %d is %d, want %d", c.dsn, i, mode, c.want)
			}
		}
		if ps, err := s.Predictions(ctx, "a", 0, 10); err != nil || cmp.Diff(wantInputs(0, 6), inputsOf(ps)) != "" {
			t.Fatalf("DSN %q: predictions %v %v", c.dsn, inputsOf(ps), err)
		}
	}
}
