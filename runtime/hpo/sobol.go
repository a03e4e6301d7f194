package hpo

import (
	"fmt"
	"strconv"
)

// sobolBits is the precision of the sequence: points 1 .. 2^32-1.
const sobolBits = 32

// sobolPoly holds Joe and Kuo's primitive polynomials and initial direction
// numbers (new-joe-kuo-6.21201, dimensions 2..21): degree s, coefficients
// a, and m_1..m_s. Dimension 1 is the van der Corput sequence.
var sobolPoly = []struct {
	s, a uint32
	m    []uint32
}{
	{1, 0, []uint32{1}},
	{2, 1, []uint32{1, 3}},
	{3, 1, []uint32{1, 3, 1}},
	{3, 2, []uint32{1, 1, 1}},
	{4, 1, []uint32{1, 1, 3, 3}},
	{4, 4, []uint32{1, 3, 5, 13}},
	{5, 2, []uint32{1, 1, 5, 5, 17}},
	{5, 4, []uint32{1, 1, 5, 5, 5}},
	{5, 7, []uint32{1, 1, 7, 11, 19}},
	{5, 11, []uint32{1, 1, 5, 1, 1}},
	{5, 13, []uint32{1, 1, 1, 3, 11}},
	{5, 14, []uint32{1, 3, 5, 5, 31}},
	{6, 1, []uint32{1, 3, 3, 9, 7, 49}},
	{6, 13, []uint32{1, 1, 1, 15, 21, 21}},
	{6, 16, []uint32{1, 3, 1, 13, 27, 49}},
	{6, 19, []uint32{1, 1, 1, 15, 7, 5}},
	{6, 22, []uint32{1, 3, 1, 15, 13, 25}},
	{6, 25, []uint32{1, 1, 5, 5, 19, 61}},
	{7, 1, []uint32{1, 3, 7, 11, 23, 15, 103}},
	{7, 4, []uint32{1, 3, 7, 13, 13, 15, 69}},
}

// SobolMaxDims is how many parameters the Sobol sequence supports.
var SobolMaxDims = len(sobolPoly) + 1

// sobolSearch walks a Sobol sequence.
type sobolSearch struct {
	space Space
	dirs  [][sobolBits]uint32
	shift []uint32
}

// NewSobol returns a Sobol low-discrepancy search. The i-th suggestion of a
// round is point len(history)+i+1 of the sequence (point 0, the origin, is
// skipped), decoded from the unit cube. Setting scramble=true applies a
// random digital shift seeded by random_state (default 0); plain otherwise.
func NewSobol(space Space, settings Settings) (Suggester, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	if len(space) > SobolMaxDims {
		return nil, fmt.Errorf("%w: sobol supports at most %d parameters, got %d", ErrInvalid, SobolMaxDims, len(space))
	}
	seed, err := seedSetting(settings)
	if err != nil {
		return nil, err
	}
	scramble := false
	if v, ok := settings["scramble"]; ok && v != "" {
		if scramble, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("%w: scramble = %q is not a boolean", ErrInvalid, v)
		}
	}
	s := &sobolSearch{space: space, dirs: sobolDirections(len(space)), shift: make([]uint32, len(space))}
	if scramble {
		g := rng(seed, nil)
		for i := range s.shift {
			s.shift[i] = g.Uint32()
		}
	}
	return s, nil
}

// sobolDirections computes the direction numbers v_1..v_32 of dims
// dimensions, scaled to 32 bits.
func sobolDirections(dims int) [][sobolBits]uint32 {
	dirs := make([][sobolBits]uint32, dims)
	for k := range sobolBits {
		if dims > 0 {
			dirs[0][k] = 1 << (sobolBits - 1 - k)
		}
	}
	for d := 1; d < dims; d++ {
		p := sobolPoly[d-1]
		v := &dirs[d]
		for k := range sobolBits {
			if k < int(p.s) {
				v[k] = p.m[k] << (sobolBits - 1 - k)
				continue
			}
			x := v[k-int(p.s)]
			x ^= x >> p.s
			for l := 1; l < int(p.s); l++ {
				if (p.a>>(p.s-1-uint32(l)))&1 == 1 {
					x ^= v[k-l]
				}
			}
			v[k] = x
		}
	}
	return dirs
}

// SobolPoint returns point index of the plain Sobol sequence in dims
// dimensions (dims ≤ SobolMaxDims).
func SobolPoint(index uint32, dims int) []float64 {
	return sobolPoint(sobolDirections(dims), make([]uint32, dims), index)
}

// sobolPoint computes a point directly from its Gray code.
func sobolPoint(dirs [][sobolBits]uint32, shift []uint32, index uint32) []float64 {
	gray := index ^ (index >> 1)
	x := make([]float64, len(dirs))
	for d := range dirs {
		var b uint32
		for k := 0; gray>>k != 0; k++ {
			if (gray>>k)&1 == 1 {
				b ^= dirs[d][k]
			}
		}
		x[d] = float64(b^shift[d]) / (1 << sobolBits)
	}
	return x
}

// Suggest returns the next n points of the sequence.
func (s *sobolSearch) Suggest(history []Trial, n int) ([]Assignment, error) {
	var out []Assignment
	for i := range max(n, 0) {
		idx := uint64(len(history)) + uint64(i) + 1
		if idx >= 1<<sobolBits {
			break
		}
		out = append(out, s.space.Decode(sobolPoint(s.dirs, s.shift, uint32(idx))))
	}
	return out, nil
}
