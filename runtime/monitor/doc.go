// Package monitor decides whether a deployed model still behaves: it
// measures drift between a baseline and a window of recorded predictions
// (Population Stability Index and the Kolmogorov–Smirnov statistic, for
// numeric and categorical features and predictions), the window's latency
// percentile and error rate, compares each with its goal and tolerance,
// turns the comparisons into alerts raised and cleared, and draws the
// drilldown charts (model → feature → window) as SVG.
//
// Everything here is pure: values in, values out. Reading recorded
// predictions, baselines and storing results is the caller's
// (runtime/apiserver); monitor imports only the standard library.
package monitor
