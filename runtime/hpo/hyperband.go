package hpo

import (
	"fmt"
	"math"
	"sort"
)

// Bracket is one bracket of hyperband: S is its index (s_max .. 0), N the
// configurations it starts with and R the resource each gets in its first
// rung.
type Bracket struct {
	S, N int
	R    float64
}

// hbEps absorbs floating-point noise in hyperband's logs and powers.
const hbEps = 1e-9

// HyperbandBrackets lists hyperband's brackets for maximum resource rl and
// reduction factor eta, as Katib computes them: s_max = floor(ln rl / ln
// eta); for s = s_max .. 0, N = ceil((s_max+1)/(s+1) * eta^s) and
// R = rl * eta^-s. It returns nil unless rl > 0 and eta > 1.
func HyperbandBrackets(rl, eta float64) []Bracket {
	if !(rl > 0) || !(eta > 1) || math.IsInf(rl, 0) {
		return nil
	}
	sMax := int(math.Floor(math.Log(rl)/math.Log(eta) + hbEps))
	if sMax < 0 {
		sMax = 0
	}
	out := make([]Bracket, 0, sMax+1)
	for s := sMax; s >= 0; s-- {
		n := math.Ceil(float64(sMax+1)/float64(s+1)*math.Pow(eta, float64(s)) - hbEps)
		out = append(out, Bracket{S: s, N: int(n), R: rl * math.Pow(eta, -float64(s))})
	}
	return out
}

// hbRung is one rung of successive halving: count trials with resource r,
// starting at history index start. Rung 0 of a bracket (first) draws new
// configurations; later rungs promote the best of the rung before.
type hbRung struct {
	start, count int
	r            float64
	first        bool
	prev         int // start of the rung before (when not first)
}

// hyperband is Katib's hyperband as a stateless suggester.
type hyperband struct {
	space    Space
	resource Parameter
	rungs    []hbRung
	random   *randomSearch
	dir      Direction
}

// NewHyperband returns Katib's hyperband. Settings: r_l (required, > 0,
// the maximum resource), eta (default 3, > 1), resource_name (required, an
// int or double parameter of space, which hyperband sets itself) and
// random_state (default 0, seeds the configurations of each bracket's first
// rung).
//
// Hyperband keeps no state: it lays out every bracket's rungs as one fixed
// sequence of trial slots and reads its position from the history, which
// must hold exactly the trials this suggester proposed, in the order it
// proposed them (running ones included). A rung after the first is proposed
// only once every trial of the rung before has finished; until then Suggest
// returns nothing. It keeps the best floor(n/eta) trials of each rung by
// Value in direction dir; trials that did not succeed rank last.
func NewHyperband(space Space, settings Settings, dir Direction) (Suggester, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	rl, eta, res, err := hyperbandSettings(space, settings)
	if err != nil {
		return nil, err
	}
	seed, err := seedSetting(settings)
	if err != nil {
		return nil, err
	}
	h := &hyperband{space: space, resource: res, dir: dir, random: &randomSearch{space: space, seed: seed}}
	start := 0
	for _, b := range HyperbandBrackets(rl, eta) {
		n, prev := b.N, 0
		for i := 0; i <= b.S && n > 0; i++ {
			r := b.R * math.Pow(eta, float64(i))
			h.rungs = append(h.rungs, hbRung{start: start, count: n, r: r, first: i == 0, prev: prev})
			prev = start
			start += n
			n = int(math.Floor(float64(n)/eta + hbEps))
		}
	}
	return h, nil
}

// hyperbandSettings reads r_l, eta and resource_name.
func hyperbandSettings(space Space, settings Settings) (rl, eta float64, res Parameter, err error) {
	rl, err = floatSetting(settings, "r_l", math.NaN())
	if err == nil && !(rl > 0) {
		err = fmt.Errorf("%w: hyperband needs r_l > 0", ErrInvalid)
	}
	if err != nil {
		return 0, 0, res, err
	}
	if eta, err = floatSetting(settings, "eta", 3); err != nil {
		return 0, 0, res, err
	}
	if !(eta > 1) || math.IsInf(eta, 0) || math.IsInf(rl, 0) {
		return 0, 0, res, fmt.Errorf("%w: hyperband needs eta > 1 and a finite r_l", ErrInvalid)
	}
	name := settings["resource_name"]
	for _, p := range space {
		if p.Name == name && name != "" {
			if p.Type != Int && p.Type != Double {
				return 0, 0, res, fmt.Errorf("%w: resource %s must be an int or double parameter", ErrInvalid, name)
			}
			return rl, eta, p, nil
		}
	}
	return 0, 0, res, fmt.Errorf("%w: resource_name %q is not a parameter of the space", ErrInvalid, name)
}

// Suggest proposes the next slots of the schedule, up to n, stopping at a
// rung whose predecessor is still running.
func (h *hyperband) Suggest(history []Trial, n int) ([]Assignment, error) {
	var out []Assignment
	g := rng(h.random.seed, history)
	for _, ru := range h.rungs {
		end := ru.start + ru.count
		pos := len(history) + len(out)
		if pos >= end || pos < ru.start {
			continue
		}
		if len(out) >= n {
			break
		}
		want := min(end-pos, n-len(out))
		var got []Assignment
		if ru.first {
			got = h.random.draw(g, want)
		} else {
			var ok bool
			if got, ok = h.promote(history, ru, pos, want); !ok {
				break
			}
		}
		for _, a := range got {
			a[h.resource.Name] = h.formatResource(ru.r)
		}
		out = append(out, got...)
	}
	return out, nil
}

// finished reports whether a trial has ended.
func finished(t Trial) bool {
	switch t.State {
	case Succeeded, Failed, EarlyStopped, MetricMissing:
		return true
	}
	return false
}

// promote returns the configurations of rung ru's slots pos .. pos+want-1:
// the best trials of the rung before, best first. It reports false while
// that rung is not all finished.
func (h *hyperband) promote(history []Trial, ru hbRung, pos, want int) ([]Assignment, bool) {
	if ru.start > len(history) {
		return nil, false
	}
	prev := history[ru.prev:ru.start]
	order := make([]int, len(prev))
	for i, t := range prev {
		if !finished(t) {
			return nil, false
		}
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ta, tb := prev[order[a]], prev[order[b]]
		if (ta.State == Succeeded) != (tb.State == Succeeded) {
			return ta.State == Succeeded
		}
		if h.dir == Maximize {
			return ta.Value > tb.Value
		}
		return ta.Value < tb.Value
	})
	out := make([]Assignment, 0, want)
	for _, i := range order[pos-ru.start : pos-ru.start+want] {
		a := Assignment{}
		for k, v := range prev[i].Params {
			a[k] = v
		}
		out = append(out, a)
	}
	return out, true
}

// formatResource writes a rung's resource: ints rounded up, so that a
// fractional resource never becomes 0.
func (h *hyperband) formatResource(r float64) string {
	if h.resource.Type == Int {
		return h.resource.Format(math.Ceil(r - hbEps))
	}
	return h.resource.Format(r)
}
