package apiserver

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/store"
)

// Pool usage over time. Every admission pass (Admit: a run queued, ended or
// stopped, pools or groups changed — the only events that change what a
// pool holds) records each pool's GPUs, the GPUs admitted runs hold and the
// runs waiting, when they differ from the pool's last sample; GET /pools
// with history_seconds=N adds each pool's samples of the last N seconds
// (led by the one before, the level they start at).

// maxHistory bounds history_seconds: what the store keeps.
const maxHistory = store.PoolUsageKept

// samplePools records the pools' usage after an admission pass: st is the
// snapshot the pass decided on, admitted what it started. A failed write
// is logged, not returned: usage history never holds admission up.
func (s *Server) samplePools(ctx context.Context, st admission.State, admitted []admission.Allocation) {
	used := map[string]int64{}
	for _, a := range append(append([]admission.Allocation(nil), st.Running...), admitted...) {
		for _, g := range a.Nodes {
			used[a.Pool] += g
		}
	}
	started := map[string]bool{}
	for _, a := range admitted {
		started[a.Run] = true
	}
	queued := map[string]int64{}
	for _, q := range st.Queue {
		if !started[q.Run] {
			pool := st.Groups[q.Group]
			if pool == "" {
				pool = admission.DefaultPool
			}
			queued[pool]++
		}
	}
	at := time.Now()
	var changed []store.PoolSample
	if s.lastUsage == nil {
		s.lastUsage = map[string]store.PoolSample{}
	}
	for _, p := range st.Pools {
		var total int64
		for _, n := range p.Nodes {
			total += n.GPUs
		}
		sample := store.PoolSample{Pool: p.Name, At: at, Total: total, Used: used[p.Name], Queued: queued[p.Name]}
		if last, ok := s.lastUsage[p.Name]; ok && last.Total == total && last.Used == sample.Used && last.Queued == sample.Queued {
			continue
		}
		changed = append(changed, sample)
	}
	if err := s.store.RecordPoolUsage(ctx, changed); err != nil {
		s.tel.log.Warn("pool usage not recorded", "error", err.Error())
		return
	}
	for _, p := range changed {
		s.lastUsage[p.Pool] = p
	}
}

// poolHistory reads history_seconds of a pools request: 0 when absent.
func poolHistory(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("history_seconds")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || time.Duration(n)*time.Second > maxHistory {
		return 0, badRequest("history_seconds: want 1 to %d, got %q", int64(maxHistory.Seconds()), v)
	}
	return time.Duration(n) * time.Second, nil
}

// withHistory adds each pool's usage samples of the last d to the pools'
// JSON.
func (s *Server) withHistory(ctx context.Context, pools []map[string]any, d time.Duration) error {
	usage, err := s.store.PoolUsage(ctx, time.Now().Add(-d))
	if err != nil {
		return err
	}
	for _, p := range pools {
		samples := []map[string]any{}
		for _, u := range usage[p["name"].(string)] {
			samples = append(samples, map[string]any{"at": timestamp(u.At), "total_gpus": u.Total, "used_gpus": u.Used, "queued_runs": u.Queued})
		}
		p["history"] = samples
	}
	return nil
}
