// Package goptunabench compares kubeline's tpe and cmaes with their
// namesakes in goptuna v0.9.0 (the Go library behind Katib's tpe and cmaes
// suggestion service), like for like: the same problems (runtime/hpo/problem),
// seeds, budgets and regret, in one harness. Run it with
//
//	cd runtime/hpo/goptunabench && go test -run '^$' -bench . -benchtime 1x
//
// It is its own module so that kubeline's product and its go.mod never link
// goptuna; kubeline is taken from the checkout (replace ../../..).
package goptunabench
