package apiserver

import (
	"fmt"
	"slices"
	"testing"
)

// BenchmarkChangeFeed is what publishing a change costs the path that
// makes it (a run's snapshot, an admission round) with streams open: one
// follower of the change's group and others of other groups, whose
// filter drops it. The follower's channel is drained as a stream would.
//
//	go test ./runtime/apiserver/ -run '^$' -bench BenchmarkChangeFeed -count 6
func BenchmarkChangeFeed(b *testing.B) {
	for _, others := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("followers-%d", others+1), func(b *testing.B) {
			var cf changeFeed
			mine, stop := cf.follow([]string{"run"}, func(g string) bool { return g == "a" })
			defer stop()
			for i := range others {
				g := fmt.Sprintf("g%d", i)
				_, stop := cf.follow([]string{"run", "pool"}, func(x string) bool { return x == g })
				defer stop()
			}
			done := make(chan int)
			go func() {
				n := 0
				for range mine.ch {
					n++
					if n == b.N {
						break
					}
				}
				done <- n
			}()
			b.ResetTimer()
			for range b.N {
				cf.publish(change{Kind: "run", ID: "r", group: "a"})
			}
			select {
			case n := <-done:
				if n != b.N {
					b.Fatalf("%d of %d changes delivered", n, b.N)
				}
			case <-mine.behind:
				// the drainer fell behind: the stream would resync; the
				// publisher's cost is what is measured
			}
		})
	}
}

// TestChangeFeedScope: a follower gets the changes of its kinds and
// groups and public ones; a full one is told it fell behind; close ends
// every follower and refuses new ones.
func TestChangeFeedScope(t *testing.T) {
	var cf changeFeed
	a, stopA := cf.follow([]string{"run", "pool"}, func(g string) bool { return g == "a" })
	defer stopA()
	all, stopAll := cf.follow([]string{"run"}, nil)
	defer stopAll()
	for _, c := range []change{{Kind: "run", ID: "r1", group: "a"}, {Kind: "run", ID: "r2", group: "b"}, {Kind: "deployment", ID: "d", group: "a"},
		{Kind: "pool", ID: "p", public: true}, {Kind: "pool", ID: "q", group: "b"}} {
		cf.publish(c)
	}
	read := func(f *follower) []string {
		var out []string
		for len(f.ch) > 0 {
			c := <-f.ch
			out = append(out, c.Kind+"/"+c.ID)
		}
		return out
	}
	if got, want := read(a), []string{"run/r1", "pool/p"}; !slices.Equal(got, want) {
		t.Errorf("group a's follower got %v, want %v", got, want)
	}
	if got, want := read(all), []string{"run/r1", "run/r2"}; !slices.Equal(got, want) {
		t.Errorf("a single-user follower got %v, want %v", got, want)
	}
	for range changeBuffer + 1 {
		cf.publish(change{Kind: "run", ID: "r", group: "a"})
	}
	select {
	case <-a.behind:
	default:
		t.Errorf("a follower whose buffer is full is not told it fell behind")
	}
	cf.close()
	<-a.done
	late, _ := cf.follow([]string{"run"}, nil)
	select {
	case <-late.done:
	default:
		t.Errorf("a follower after close is not ended")
	}
}
