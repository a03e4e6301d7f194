package artifact

import (
	"context"
	"errors"
	"net"
	"time"
)

// Unreached reports whether err says a request never reached the store's
// server: the connection could not be made (refused, no route, the dial
// timed out). Such a request changed nothing, so sending it again is safe
// whatever it was, a write included; an error after the connection was
// made (a reset, a timeout waiting for the answer) is not Unreached: the
// server may have applied the request.
func Unreached(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// UnreachedBackoff is how long RetryUnreached waits before each new
// attempt: about 15 s in all, for a server restarting or a network that
// dropped a few connections (a pod's first connections on a loaded node).
var UnreachedBackoff = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// RetryUnreached runs f, and runs it again after each UnreachedBackoff
// delay while it fails with an Unreached error. Stores do not retry (see
// Store); a caller whose run would otherwise fail on one connection that
// could not be made (a step in a pod writing its records) wraps its calls
// in it. It returns f's last error, or ctx's when ctx ends first.
func RetryUnreached(ctx context.Context, f func() error) error {
	err := f()
	for _, d := range UnreachedBackoff {
		if err == nil || !Unreached(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(d):
		}
		err = f()
	}
	return err
}
