package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// BenchmarkListRuns lists one page of 50 runs out of 100,000 in SQLite, with
// and without a filter, and reports p50 and p99 of the page latency.
func BenchmarkListRuns(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO runs (id, experiment_id, display_name, storage_state, state, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		base := time.Now().Add(-100000 * time.Second).UnixMilli()
		states := []string{"SUCCEEDED", "FAILED", "RUNNING", "PENDING"}
		for i := 0; i < 100000; i++ {
			if _, err := stmt.ExecContext(ctx, NewID(), "exp", fmt.Sprintf("run-%06d", i), "AVAILABLE", states[i%4], base+int64(i)*1000); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	failed, _ := ParseFilter(`{"predicates":[{"operation":"EQUALS","key":"state","string_value":"FAILED"}]}`)
	available, _ := ParseFilter(`{"predicates":[{"operation":"NOT_EQUALS","key":"storage_state","string_value":"ARCHIVED"}]}`)
	for _, bc := range []struct {
		name string
		opts ListOptions
	}{{"all", ListOptions{PageSize: 50, SortBy: "created_at desc"}}, {"filtered", ListOptions{PageSize: 50, SortBy: "created_at desc", Filter: failed}},
		{"ui-filter", ListOptions{PageSize: 50, SortBy: "created_at desc", Filter: available}}} {
		b.Run(bc.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			opts := bc.opts
			for i := 0; i < b.N; i++ {
				start := time.Now()
				runs, page, err := s.ListRuns(ctx, "", "", opts)
				lat = append(lat, time.Since(start))
				if err != nil || len(runs) != 50 {
					b.Fatalf("%d runs, %v", len(runs), err)
				}
				opts.PageToken = page.NextPageToken // walk deeper pages too
				if opts.PageToken == "" {
					opts = bc.opts
				}
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
