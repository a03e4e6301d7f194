package serving

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestTrafficSeries: requests counted a second at a time are summed into
// steps ending at now (errors: 5xx or no answer; mean and largest
// latency); seconds older than the window, or overwritten by a later
// second in the same slot, count as none.
func TestTrafficSeries(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	var tr traffic
	tr.add(at(0), 10*time.Millisecond, 200)
	tr.add(at(1), 30*time.Millisecond, 200)
	tr.add(at(1), 2*time.Millisecond, 503)
	tr.add(at(4), 4*time.Millisecond, 0)
	tr.add(at(5), 8*time.Millisecond, 404)
	got := tr.series(at(5), 6*time.Second, 3*time.Second)
	want := []TrafficPoint{
		{At: at(0).UTC(), Requests: 3, Errors: 1, LatencyMeanMS: 14, LatencyMaxMS: 30},
		{At: at(3).UTC(), Requests: 2, Errors: 1, LatencyMeanMS: 6, LatencyMaxMS: 8},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("two steps of 3 s (-want +got):\n%s", d)
	}
	// A span that is not whole steps still ends at now.
	if got := tr.series(at(5), 4*time.Second, 3*time.Second); len(got) != 2 || !got[1].At.Equal(at(3)) || got[0].Requests != 3 {
		t.Errorf("4 s in steps of 3: %+v", got)
	}
	// A window later, second 0's slot holds a new second: the old is gone.
	later := at(0).Add(TrafficWindow)
	tr.add(later, time.Millisecond, 200)
	got = tr.series(later, TrafficWindow, TrafficWindow)
	if len(got) != 1 || got[0].Requests != 5 || got[0].Errors != 2 {
		t.Errorf("the last window: %+v (want seconds 1..600: 5 requests, 2 errors)", got)
	}
	if got := tr.series(at(5), 6*time.Second, 3*time.Second); got[0].Requests != 2 {
		t.Errorf("second 0 after its slot was reused: %+v (want 2 requests, second 1's)", got[0])
	}
	if got := tr.series(at(100), time.Minute, 10*time.Second); len(got) != 6 || got[0].Requests+got[5].Requests != 0 {
		t.Errorf("a quiet minute: %+v", got)
	}
}
