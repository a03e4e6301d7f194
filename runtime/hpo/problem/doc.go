// Package problem holds the test problems of hpo's quality benchmarks:
// Branin, Hartmann6, Rosenbrock4 and Mixed (three continuous, two integer
// and one categorical parameter), each with its search space and known
// global minimum, so that regret (best value found − minimum) can be
// measured the same way for kubeline's algorithms and for others'.
//
// It is pure, imports only runtime/hpo and is linked by tests and
// benchmarks only.
package problem
