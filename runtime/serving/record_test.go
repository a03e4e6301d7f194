package serving

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadBody: a recorded request's body is read whole whatever its
// declared length says (unknown, exact, too short or too long: what was
// forwarded is what was recorded), a byte at a time too, and a read error
// is returned.
func TestReadBody(t *testing.T) {
	body := strings.Repeat(`{"instances":[1.5,2.5]}`, 100)
	for _, size := range []int64{-1, 0, 10, int64(len(body)), int64(len(body)) + 7} {
		for name, r := range map[string]io.Reader{"whole": strings.NewReader(body), "bytewise": iotest.OneByteReader(strings.NewReader(body))} {
			got, err := readBody(r, size)
			if err != nil || !bytes.Equal(got, []byte(body)) {
				t.Errorf("size %d, %s: %d bytes %v, want the %d bytes", size, name, len(got), err, len(body))
			}
		}
	}
	if _, err := readBody(iotest.TimeoutReader(strings.NewReader(body)), int64(len(body))); err == nil {
		t.Error("a failed read: no error")
	}
}
