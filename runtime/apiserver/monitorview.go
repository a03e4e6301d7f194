package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/kubeline/kubeline/runtime/monitor"
	"github.com/kubeline/kubeline/runtime/store"
)

// monitorStatus is a monitor's newest window: each measure's value
// against its goal and tolerance, the active alerts, the action, and the
// recording of its deployment.
func (s *Server) monitorStatus(ctx context.Context, name string) (any, error) {
	m, err := s.store.GetMonitor(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"name": m.Name, "deployment": m.Deployment, "windows": m.Windows}
	if s.holderOf(ctx, m.Deployment) != groupOf(m.Group) { // nothing of another group's deployment of the name shows
		out["deployment_state"] = "not running (nothing is evaluated until a deployment of this name runs in the monitor's group)"
	} else {
		out["model"] = s.servedModel(ctx, m.Deployment)
	}
	d, err := monitorSpec(m)
	if err != nil {
		return nil, err
	}
	pending, err := s.store.CountPredictions(ctx, m.Deployment, m.LastSeq)
	if err != nil {
		return nil, err
	}
	out["window"] = map[string]any{"requests": d.Spec.Window.Requests, "recorded_since": pending}
	if m.Windows > 0 {
		ws, err := s.store.Windows(ctx, m.Name, m.Windows, 1)
		if err != nil {
			return nil, err
		}
		if len(ws) == 1 {
			out["last_window"] = windowJSON(ws[0])
		}
	}
	as, err := s.store.Alerts(ctx, m.Name)
	if err != nil {
		return nil, err
	}
	active := []map[string]any{}
	for _, a := range as {
		if a.ClearedWindow == 0 {
			active = append(active, alertJSON(a))
		}
	}
	out["active_alerts"] = active
	var action any
	_ = json.Unmarshal([]byte(m.Action), &action)
	out["action"] = action
	st := s.mon.rec.Stats()
	out["recording"] = map[string]any{"sample_rate": d.Spec.Rate(), "recorded": st.Recorded, "dropped_queue_full": st.Dropped,
		"lost_to_store_faults": st.Failed, "queued": st.Queued, "queue_capacity": st.Capacity}
	return out, nil
}

func windowJSON(w store.MonitorWindow) map[string]any {
	var rec windowRecord
	_ = json.Unmarshal([]byte(w.Result), &rec)
	j := map[string]any{"index": w.Index, "closed_at": w.ClosedAt, "first_seq": w.FirstSeq, "last_seq": w.LastSeq,
		"baseline": w.Baseline, "models": rec.Models, "measures": nonNilMeasures(rec.Measures)}
	if rec.Error != "" {
		j["error"] = rec.Error
	}
	if rec.Sample != nil {
		j["baseline_window"] = true
	}
	return j
}

func nonNilMeasures(ms []monitor.Measure) []monitor.Measure {
	if ms == nil {
		return []monitor.Measure{}
	}
	return ms
}

// maxDrilldown bounds the windows a drilldown reads.
const maxDrilldown = 200

// drilldown is the seed's hierarchical view, as JSON or (format=svg) a
// chart: the model (every feature's measures in the newest window),
// ?feature=F (F's measures window after window; ?metric picks the
// chart's), ?feature=F&window=N (F's distribution in window N against the
// baseline).
func (s *Server) drilldown(w http.ResponseWriter, r *http.Request) {
	v, svg, err := s.drilldownOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if r.URL.Query().Get("format") == "svg" {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write([]byte(svg))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) drilldownOf(r *http.Request) (any, string, error) {
	ctx, q := r.Context(), r.URL.Query()
	m, err := s.store.GetMonitor(ctx, r.PathValue("name"))
	if err != nil {
		return nil, "", err
	}
	switch f := q.Get("format"); f {
	case "", "json", "svg":
	default:
		return nil, "", badRequest("format: want json or svg, got %q", f)
	}
	feature, win := q.Get("feature"), q.Get("window")
	if win != "" && feature == "" {
		return nil, "", badRequest("window: give feature too (model → feature → window)")
	}
	ws, err := s.store.Windows(ctx, m.Name, max(1, m.Windows-maxDrilldown+1), maxDrilldown)
	if err != nil {
		return nil, "", err
	}
	recs := make([]windowRecord, len(ws))
	for i, w := range ws {
		_ = json.Unmarshal([]byte(w.Result), &recs[i])
	}
	switch {
	case feature == "":
		return modelLevel(m, ws, recs)
	case win == "":
		return featureLevel(m, feature, q.Get("metric"), ws, recs)
	}
	n, err := strconv.Atoi(win)
	if err != nil {
		return nil, "", badRequest("window: want a window number, got %q", win)
	}
	return windowLevel(m, feature, n, ws, recs)
}

func modelLevel(m store.Monitor, ws []store.MonitorWindow, recs []windowRecord) (any, string, error) {
	out := map[string]any{"monitor": m.Name, "deployment": m.Deployment, "level": "model", "windows": m.Windows}
	var bars []monitor.Bar
	features := map[string][]monitor.Measure{}
	var order []string
	if len(ws) > 0 {
		last := recs[len(recs)-1]
		out["window"], out["baseline"], out["models"] = ws[len(ws)-1].Index, ws[len(ws)-1].Baseline, last.Models
		for _, ms := range last.Measures {
			key := ms.Feature
			if key == "" {
				key = ms.Metric
			}
			if _, ok := features[key]; !ok {
				order = append(order, key)
			}
			features[key] = append(features[key], ms)
			bars = append(bars, monitor.Bar{Label: key + " " + ms.Metric, Value: ms.Value, Limit: ms.Goal + ms.Tolerance, Violated: ms.Violated})
		}
	}
	var list []map[string]any
	for _, k := range order {
		violated := false
		for _, ms := range features[k] {
			violated = violated || ms.Violated
		}
		list = append(list, map[string]any{"feature": k, "violated": violated, "measures": features[k]})
	}
	out["features"] = list
	return out, monitor.BarChart(fmt.Sprintf("%s (%s): window %v", m.Name, m.Deployment, out["window"]), bars), nil
}

func featureLevel(m store.Monitor, feature, metric string, ws []store.MonitorWindow, recs []windowRecord) (any, string, error) {
	var windows []map[string]any
	var points []monitor.Point
	limit := 0.0
	for i, rec := range recs {
		var mine []monitor.Measure
		for _, ms := range rec.Measures {
			if ms.Feature != feature && !(ms.Feature == "" && ms.Metric == feature) {
				continue
			}
			mine = append(mine, ms)
			if metric == "" {
				metric = ms.Metric
			}
			if ms.Metric == metric {
				points = append(points, monitor.Point{Window: ws[i].Index, Value: ms.Value, Violated: ms.Violated})
				limit = ms.Goal + ms.Tolerance
			}
		}
		if mine != nil {
			windows = append(windows, map[string]any{"window": ws[i].Index, "baseline": ws[i].Baseline, "measures": mine})
		}
	}
	if windows == nil {
		return nil, "", notFoundErr("monitor %s has measured no feature or metric %q", m.Name, feature)
	}
	out := map[string]any{"monitor": m.Name, "level": "feature", "feature": feature, "windows": windows}
	return out, monitor.LineChart(fmt.Sprintf("%s: %s %s by window", m.Name, feature, metric), points, limit), nil
}

func windowLevel(m store.Monitor, feature string, n int, ws []store.MonitorWindow, recs []windowRecord) (any, string, error) {
	for i, w := range ws {
		if w.Index != n {
			continue
		}
		for _, b := range recs[i].Bins {
			if b.Feature != feature {
				continue
			}
			var mine []monitor.Measure
			for _, ms := range recs[i].Measures {
				if ms.Feature == feature {
					mine = append(mine, ms)
				}
			}
			out := map[string]any{"monitor": m.Name, "level": "window", "feature": feature, "window": n, "baseline": w.Baseline,
				"bins": b, "measures": mine}
			return out, monitor.HistogramChart(fmt.Sprintf("%s: %s in window %d against %s", m.Name, feature, n, w.Baseline), b), nil
		}
		return nil, "", notFoundErr("window %d of monitor %s has no bins of feature %q", n, m.Name, feature)
	}
	return nil, "", notFoundErr("monitor %s has no window %d (it has %d; the newest %d are kept for the drilldown)", m.Name, n, m.Windows, maxDrilldown)
}
