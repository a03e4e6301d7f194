// Package hpo holds kubeline's hyperparameter search: suggestion algorithms
// (random, grid, sobol, hyperband, tpe, multivariate-tpe,
// bayesianoptimization, cmaes) and medianstop early stopping, with Katib's
// parameter types and settings. It is pure: values in, values out, no I/O,
// no clock, and no global random source — every algorithm draws from a
// generator seeded by random_state and the trial history, so the same seed
// and history give the same suggestions.
//
// hpo imports nothing from kubeline.
package hpo
