package apiserver

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kubeline/kubeline/runtime/store"
)

// telemetry is what the server tells its operators: Prometheus metrics on
// GET /metrics and structured logs (slog) with run and task ids. Gauges of
// the store (runs by status, pools, queues) are read at each scrape, so they
// are right whichever replica or restart changed the store; durations are
// observed as they happen.
type telemetry struct {
	reg  *prometheus.Registry
	log  *slog.Logger
	http *prometheus.HistogramVec // route, code
	wait *prometheus.HistogramVec // pool
	step *prometheus.HistogramVec // phase, cached
	run  *prometheus.HistogramVec // phase
}

// Metric names, for the README and the tests.
const (
	MetricRuns          = "kubeline_runs"
	MetricQueueLength   = "kubeline_admission_queue_length"
	MetricPoolGPUs      = "kubeline_pool_gpus"
	MetricPoolGPUsInUse = "kubeline_pool_gpus_in_use"
	MetricStoreUp       = "kubeline_store_up"
	MetricAdmissionWait = "kubeline_admission_wait_seconds"
	MetricHTTPDuration  = "kubeline_http_request_duration_seconds"
	MetricStepDuration  = "kubeline_step_duration_seconds"
	MetricRunDuration   = "kubeline_run_duration_seconds"
	MetricIDEs          = "kubeline_ides"
)

// durationBuckets span a tenth of a second to six hours: admission waits,
// steps and runs.
var durationBuckets = []float64{0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21600}

func newTelemetry(s *Server) *telemetry {
	t := &telemetry{
		reg: prometheus.NewRegistry(),
		log: slog.New(slog.DiscardHandler),
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricHTTPDuration,
			Help: "Latency of the API's requests by route (the ServeMux pattern) and status code."}, []string{"route", "code"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricAdmissionWait,
			Help: "How long runs waited Queued for GPUs before admission, by pool.", Buckets: durationBuckets}, []string{"pool"}),
		step: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricStepDuration,
			Help:    "Durations of finished workflow steps (pod nodes) as the engine reports them, by phase and cache hit.",
			Buckets: durationBuckets}, []string{"phase", "cached"}),
		run: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricRunDuration,
			Help: "Durations of finished runs on the engine, by workflow phase.", Buckets: durationBuckets}, []string{"phase"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubeline_build_info", Help: "The server's version.",
		ConstLabels: prometheus.Labels{"version": s.version}})
	build.Set(1)
	t.reg.MustRegister(t.http, t.wait, t.step, t.run, build, storeCollector{s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return t
}

// WithLogger sets where the server logs runs, tasks, admissions and
// requests; nothing is logged without one.
func (s *Server) WithLogger(l *slog.Logger) *Server {
	s.tel.log = l
	return s
}

var (
	descRuns = prometheus.NewDesc(MetricRuns, "Runs in the store by status (DKube's) and the KFP state it maps to.",
		[]string{"status", "state"}, nil)
	descQueue = prometheus.NewDesc(MetricQueueLength, "Runs waiting Queued for GPUs, by the pool of their group.",
		[]string{"pool"}, nil)
	descPoolGPUs = prometheus.NewDesc(MetricPoolGPUs, "GPUs a pool holds.", []string{"pool", "gpu_type"}, nil)
	descPoolUsed = prometheus.NewDesc(MetricPoolGPUsInUse, "GPUs of a pool held by admitted runs.",
		[]string{"pool", "gpu_type"}, nil)
	descIDEs = prometheus.NewDesc(MetricIDEs, "IDEs in the store by status (their GPUs count in the pools' gauges while admitted).",
		[]string{"status"}, nil)
	descStoreUp = prometheus.NewDesc(MetricStoreUp, "1 when the metadata store answered this scrape's queries, else 0.",
		nil, nil)
)

// storeCollector reads the gauges of runs and pools from the store at
// each scrape: one query for the runs, the admission snapshot for pools.
type storeCollector struct{ s *Server }

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRuns, descQueue, descPoolGPUs, descPoolUsed, descIDEs, descStoreUp} {
		ch <- d
	}
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up := 1.0
	if err := c.runs(ctx, ch); err != nil {
		up = 0
		c.s.tel.log.Warn("metrics: count runs", "err", err)
	}
	if err := c.pools(ctx, ch); err != nil {
		up = 0
		c.s.tel.log.Warn("metrics: read pools", "err", err)
	}
	if err := c.ides(ctx, ch); err != nil {
		up = 0
		c.s.tel.log.Warn("metrics: count IDEs", "err", err)
	}
	ch <- prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, up)
}

// runs sends a series for every status, zero ones too, so that a
// dashboard sees a status empty out.
func (c storeCollector) runs(ctx context.Context, ch chan<- prometheus.Metric) error {
	counts, err := c.s.store.CountRuns(ctx)
	if err != nil {
		return err
	}
	by := map[string]float64{}
	for status := range kfpStates {
		by[status] = 0
	}
	for _, n := range counts {
		var a *store.RunAdmission
		if n.Status != "" {
			a = &store.RunAdmission{Status: n.Status}
		}
		status := runStatus(store.Run{State: n.State}, a)
		if status == "" {
			status = "Unknown"
		}
		by[status] += float64(n.N)
	}
	for status, n := range by {
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.GaugeValue, n, status, kfpStates[status])
	}
	return nil
}

// ides sends a series for every IDE status, zero ones too.
func (c storeCollector) ides(ctx context.Context, ch chan<- prometheus.Metric) error {
	all, err := c.s.store.ListIDEs(ctx, nil)
	if err != nil {
		return err
	}
	by := map[string]float64{}
	for _, st := range []string{store.StatusQueued, store.StatusStarting, store.StatusRunning, store.StatusStopping, store.StatusStopped, store.StatusError} {
		by[st] = 0
	}
	for _, i := range all {
		by[i.Status]++
	}
	for st, n := range by {
		ch <- prometheus.MustNewConstMetric(descIDEs, prometheus.GaugeValue, n, st)
	}
	return nil
}

func (c storeCollector) pools(ctx context.Context, ch chan<- prometheus.Metric) error {
	pools, usage, err := c.s.usage(ctx)
	if err != nil {
		return err
	}
	for _, p := range pools {
		u := usage[p.Name]
		var total, used int64
		for _, n := range p.Nodes {
			total += n.GPUs
			used += u.used[n.Name]
		}
		ch <- prometheus.MustNewConstMetric(descPoolGPUs, prometheus.GaugeValue, float64(total), p.Name, p.GPUType)
		ch <- prometheus.MustNewConstMetric(descPoolUsed, prometheus.GaugeValue, float64(used), p.Name, p.GPUType)
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(u.queued), p.Name)
	}
	return nil
}

// telemetryRoutes serves /metrics (Prometheus text format) and the
// probes: /livez answers while the process serves HTTP, /readyz while the
// store answers too. All three are public (policies.go), as the kubelet
// and Prometheus send no token.
func (s *Server) telemetryRoutes(mux *http.ServeMux) {
	handle := func(pattern string, h http.Handler) {
		s.routes = append(s.routes, pattern)
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := s.authorize(r); err != nil {
				writeError(w, err)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	handle("GET /metrics", promhttp.HandlerFor(s.tel.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	handle("GET /livez", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	}))
	handle("GET /readyz", http.HandlerFunc(s.readyz))
}

// readyz is 200 while the store takes a write within two seconds, no run
// state waits for the store (follow.go) and the server is not shutting
// down, else 503 with the reason.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := s.ctx.Err()
	if err == nil {
		err = s.store.CheckWrite(ctx)
	}
	if err == nil {
		err = s.faults.err()
	}
	if err != nil {
		w.Header().Set("Retry-After", retryAfter)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: " + err.Error() + "\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

// instrument times every request by its route (the ServeMux pattern, so
// ids in paths do not make new series) and logs it: probes and scrapes at
// debug level, the rest at info.
func (t *telemetry) instrument(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, route := mux.Handler(r)
		if route == "" {
			route = "unmatched"
		}
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		d := time.Since(start)
		t.http.WithLabelValues(route, strconv.Itoa(rec.code)).Observe(d.Seconds())
		level := slog.LevelInfo
		switch route {
		case "GET /metrics", "GET /livez", "GET /readyz":
			level = slog.LevelDebug
		}
		t.log.LogAttrs(r.Context(), level, "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("route", route), slog.Int("status", rec.code), slog.Float64("duration_ms", float64(d.Microseconds())/1000))
	})
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
