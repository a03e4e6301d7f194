package spec

import (
	"strconv"
	"testing"
)

// TestIntChars: a string IntChars refuses is no integer to strconv in
// any base resolveNumber or the YAML writer tries (so skipping the parse
// changes no resolution), on every string of up to 4 bytes over the
// characters that matter; and it accepts the integers.
func TestIntChars(t *testing.T) {
	const alphabet = "0123456789abfxXoOB+-_.:eEzZ ~"
	var walk func(s string)
	refused := 0
	walk = func(s string) {
		if !IntChars(s) {
			refused++
			for _, base := range []int{0, 2, 8, 10, 16} {
				if _, err := strconv.ParseInt(s, base, 64); err == nil {
					t.Fatalf("IntChars(%q) is false, but ParseInt(base %d) reads it", s, base)
				}
				if _, err := strconv.ParseUint(s, base, 64); err == nil {
					t.Fatalf("IntChars(%q) is false, but ParseUint(base %d) reads it", s, base)
				}
			}
		}
		if len(s) < 4 {
			for i := 0; i < len(alphabet); i++ {
				walk(s + alphabet[i:i+1])
			}
		}
	}
	walk("")
	for _, s := range []string{"0", "-12", "+7", "0x1F", "0X1f", "0o17", "0O17", "0b101", "0B1", "017", "1_000"} {
		if !IntChars(s) {
			t.Errorf("IntChars(%q) is false", s)
		}
	}
	if refused == 0 {
		t.Error("IntChars refused nothing")
	}
}
