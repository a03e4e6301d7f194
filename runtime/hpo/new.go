package hpo

import (
	"fmt"
	"sort"
	"strings"
)

// builders maps Katib's algorithm names to their constructors.
var builders = map[string]func(Space, Settings, Direction) (Suggester, error){
	"random":    func(s Space, set Settings, _ Direction) (Suggester, error) { return NewRandom(s, set) },
	"grid":      func(s Space, set Settings, _ Direction) (Suggester, error) { return NewGrid(s, set) },
	"sobol":     func(s Space, set Settings, _ Direction) (Suggester, error) { return NewSobol(s, set) },
	"hyperband": NewHyperband,
	"tpe": func(s Space, set Settings, d Direction) (Suggester, error) {
		return NewTPE(s, set, d, false)
	},
	"multivariate-tpe": func(s Space, set Settings, d Direction) (Suggester, error) {
		return NewTPE(s, set, d, true)
	},
	"bayesianoptimization": NewGP,
	"cmaes":                NewCMAES,
}

// Algorithms lists the algorithm names New accepts, sorted.
func Algorithms() []string {
	names := make([]string, 0, len(builders))
	for n := range builders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New returns the suggester for one of Katib's algorithm names.
func New(algorithm string, space Space, settings Settings, dir Direction) (Suggester, error) {
	b, ok := builders[algorithm]
	if !ok {
		return nil, fmt.Errorf("%w: unknown algorithm %q (known: %s)", ErrInvalid, algorithm, strings.Join(Algorithms(), ", "))
	}
	return b(space, settings, dir)
}
