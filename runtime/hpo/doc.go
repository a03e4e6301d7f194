// Package hpo holds kubeline's hyperparameter search: suggestion algorithms
// (random, grid, sobol, hyperband, tpe, multivariate-tpe,
// bayesianoptimization, cmaes) and medianstop early stopping, with Katib's
// parameter types and settings; the experiment's decisions (Decide: Katib's
// end rules and the next round; Observe: a trial's state and value from its
// reports; Summarise: the status in Katib's shape); the StdOut/TEXT metrics
// collector's parsing (Collector); the reader of a compiled experiment's
// spec (ParseExperiment); and the SVG plot of an experiment (PlotSVG).
//
// It is pure: values in, values out, no I/O, no clock, and no global random
// source — every algorithm draws from a generator seeded by random_state and
// the trial history, so the same seed and history give the same suggestions.
//
// hpo imports nothing from kubeline.
package hpo
