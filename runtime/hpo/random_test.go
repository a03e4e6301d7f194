package hpo

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
)

func randomSpace() Space {
	return Space{
		{Name: "lr", Type: Double, Min: 1e-4, Max: 1e-1, Distribution: LogUniform},
		{Name: "layers", Type: Int, Min: 1, Max: 3},
		{Name: "opt", Type: Categorical, List: []string{"sgd", "adam"}},
		{Name: "mom", Type: Double, Min: 0, Max: 1, Distribution: Normal},
	}
}

func TestRandomReproducible(t *testing.T) {
	hist := []Trial{{Name: "a"}, {Name: "b"}}
	tests := []struct {
		name       string
		s1, s2     Settings
		h1, h2     []Trial
		wantEquals bool
	}{
		{"same seed same history", Settings{"random_state": "7"}, Settings{"random_state": "7"}, hist, hist, true},
		{"default seed", nil, Settings{"random_state": "0"}, nil, nil, true},
		{"different seed", Settings{"random_state": "7"}, Settings{"random_state": "8"}, hist, hist, false},
		{"different history", Settings{"random_state": "7"}, Settings{"random_state": "7"}, hist, hist[:1], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := mustSuggest(t, tc.s1, tc.h1)
			b := mustSuggest(t, tc.s2, tc.h2)
			if got := reflect.DeepEqual(a, b); got != tc.wantEquals {
				t.Fatalf("equal = %v, want %v\n%v\n%v", got, tc.wantEquals, a, b)
			}
		})
	}
}

func mustSuggest(t *testing.T, s Settings, h []Trial) []Assignment {
	t.Helper()
	r, err := NewRandom(randomSpace(), s)
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Suggest(h, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 5 {
		t.Fatalf("got %d suggestions", len(a))
	}
	return a
}

func TestRandomRanges(t *testing.T) {
	r, err := NewRandom(randomSpace(), Settings{"random_state": "3"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Suggest(nil, 500)
	if err != nil {
		t.Fatal(err)
	}
	layers := map[string]int{}
	lowLR := 0
	for _, a := range got {
		layers[a["layers"]]++
		lr, _ := strconv.ParseFloat(a["lr"], 64)
		if lr < 1e-4 || lr > 1e-1 {
			t.Fatalf("lr %v out of range", lr)
		}
		if lr < 1e-3 {
			lowLR++
		}
		m, _ := strconv.ParseFloat(a["mom"], 64)
		if m < 0 || m > 1 {
			t.Fatalf("mom %v out of range", m)
		}
	}
	for _, v := range []string{"1", "2", "3"} {
		if layers[v] == 0 {
			t.Errorf("int value %s never drawn: %v", v, layers)
		}
	}
	if len(layers) != 3 {
		t.Errorf("unexpected int values %v", layers)
	}
	// log-uniform: a third of the draws fall in the lowest decade.
	if lowLR < 100 || lowLR > 240 {
		t.Errorf("%d of 500 lr draws below 1e-3, want about 167", lowLR)
	}
}

func TestRandomInvalid(t *testing.T) {
	tests := []struct {
		name  string
		space Space
		set   Settings
	}{
		{"bad seed", randomSpace(), Settings{"random_state": "x"}},
		{"bad space", Space{{Name: "a", Type: Int, Min: 3, Max: 1}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRandom(tc.space, tc.set); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestRandomIntUniform checks that every value of an int parameter, the
// bounds included, is drawn about as often as the others (each value owns
// an equal-width bin of the unit interval).
func TestRandomIntUniform(t *testing.T) {
	sp := Space{{Name: "n", Type: Int, Min: 1, Max: 4}, {Name: "s", Type: Double, Min: 0, Max: 1, Step: 0.5}}
	r, err := NewRandom(sp, Settings{"random_state": "5"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.Suggest(nil, 4000)
	n, s := map[string]int{}, map[string]int{}
	for _, a := range got {
		n[a["n"]]++
		s[a["s"]]++
	}
	for _, v := range []string{"1", "2", "3", "4"} {
		if n[v] < 900 || n[v] > 1100 {
			t.Errorf("int value %s drawn %d times of 4000, want about 1000: %v", v, n[v], n)
		}
	}
	for _, v := range []string{"0", "0.5", "1"} {
		if s[v] < 1200 || s[v] > 1470 {
			t.Errorf("stepped value %s drawn %d times of 4000, want about 1333: %v", v, s[v], s)
		}
	}
	if len(n) != 4 || len(s) != 3 {
		t.Errorf("values outside the space: %v %v", n, s)
	}
}

// TestEncodeDecodeBins checks that encoding a value of a binned parameter
// and decoding it gives the value back.
func TestEncodeDecodeBins(t *testing.T) {
	sp := Space{{Name: "n", Type: Int, Min: -3, Max: 7}, {Name: "s", Type: Double, Min: 0.1, Max: 0.9, Step: 0.2}}
	for _, a := range []Assignment{{"n": "-3", "s": "0.1"}, {"n": "7", "s": "0.9"}, {"n": "0", "s": "0.5"}, {"n": "1", "s": "0.7"}} {
		x, err := sp.Encode(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := sp.Decode(x); !reflect.DeepEqual(got, a) {
			t.Errorf("decode(encode(%v)) = %v (x %v)", a, got, x)
		}
	}
}

// TestRandomRoundsIndependent: the rounds of a search (one trial each)
// draw independent points. Seeding math/rand with consecutive numbers
// gives linearly related first draws: a list parameter's value then
// stepped through the list in turn (r, t, e, s, r, t, ...).
func TestRandomRoundsIndependent(t *testing.T) {
	sp := Space{{Name: "c", Type: Categorical, List: []string{"a", "b", "c", "d"}}}
	r, err := NewRandom(sp, Settings{"random_state": "100"})
	if err != nil {
		t.Fatal(err)
	}
	var hist []Trial
	same := 0 // consecutive rounds whose value is the one after the previous one
	for len(hist) < 400 {
		a, _ := r.Suggest(hist, 1)
		if n := len(hist); n > 0 && int(a[0]["c"][0]-'a') == (int(hist[n-1].Params["c"][0]-'a')+1)%4 {
			same++
		}
		hist = append(hist, Trial{Params: a[0], State: Succeeded})
	}
	// Independent draws: a quarter of the pairs, about 100 ± 9.
	if same < 70 || same > 130 {
		t.Errorf("%d of 399 consecutive rounds step to the next value, want about 100", same)
	}
}
