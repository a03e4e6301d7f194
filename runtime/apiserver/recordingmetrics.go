package apiserver

import "github.com/prometheus/client_golang/prometheus"

// Metric names of prediction recording (the recorder's counters, read at
// each scrape).
const (
	MetricPredictionsRecorded = "kubeline_predictions_recorded_total"
	MetricPredictionsDropped  = "kubeline_predictions_dropped_total"
	MetricPredictionsFailed   = "kubeline_predictions_failed_total"
	MetricPredictionQueue     = "kubeline_prediction_queue_length"
)

var (
	descPredictionsRecorded = prometheus.NewDesc(MetricPredictionsRecorded,
		"Sampled predictions recorded: summaries in the store, bodies in the artifact store.", nil, nil)
	descPredictionsDropped = prometheus.NewDesc(MetricPredictionsDropped,
		"Sampled predictions dropped because the recording queue was full; their requests were answered without waiting.", nil, nil)
	descPredictionsFailed = prometheus.NewDesc(MetricPredictionsFailed,
		"Sampled predictions lost because the store or the artifact store refused their batch.", nil, nil)
	descPredictionQueue = prometheus.NewDesc(MetricPredictionQueue,
		"Sampled predictions waiting for the recorder's writer.", nil, nil)
)

// recordingCollector exports the recorder's counters.
type recordingCollector struct{ rec Recording }

func (c recordingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descPredictionsRecorded
	ch <- descPredictionsDropped
	ch <- descPredictionsFailed
	ch <- descPredictionQueue
}

func (c recordingCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.rec.Stats()
	ch <- prometheus.MustNewConstMetric(descPredictionsRecorded, prometheus.CounterValue, float64(st.Recorded))
	ch <- prometheus.MustNewConstMetric(descPredictionsDropped, prometheus.CounterValue, float64(st.Dropped))
	ch <- prometheus.MustNewConstMetric(descPredictionsFailed, prometheus.CounterValue, float64(st.Failed))
	ch <- prometheus.MustNewConstMetric(descPredictionQueue, prometheus.GaugeValue, float64(st.Queued))
}
