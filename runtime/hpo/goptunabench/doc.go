// Package goptunabench compares kubeline's tpe, cmaes and random with their
// namesakes in goptuna v0.9.0 (the Go library behind Katib's tpe and cmaes
// suggestion service), like for like: the same problems (runtime/hpo/problem),
// seeds, budgets and regret, in one harness. Run it with
//
//	cd runtime/hpo/goptunabench && go test -run '^$' -bench VsGoptuna -benchtime 1x
//
// (ALGOS=all adds kubeline's multivariate-tpe, gp and sobol; -update writes
// the table to RESULTS.md, which is made with ALGOS=all).
//
// It is its own module so that kubeline's product and its go.mod never link
// goptuna; kubeline is taken from the checkout (replace ../../..).
package goptunabench
