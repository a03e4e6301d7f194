package serving

import (
	"bytes"
	"io"
	"net/http"
	"time"
)

// Recorder takes the predictions the endpoint records. Sampled decides,
// per request, whether one is recorded (a deployment's sample rate);
// Record must not block: it hands the prediction to a queue (and drops it,
// counted, when the queue is full), so recording never holds a request up.
type Recorder interface {
	Sampled(deployment string) bool
	Record(p Prediction)
}

// Prediction is one recorded request through the endpoint.
type Prediction struct {
	Deployment string
	Model      string // the revision that answered, NAME@vN
	Protocol   string // v1 or v2
	At         time.Time
	Latency    time.Duration
	Status     int
	// Request and Response are the bodies, cut at MaxPayload bytes
	// (Truncated then says so).
	Request, Response []byte
	Truncated         bool
}

// MaxPayload bounds the bytes of each body a recorded prediction keeps.
const MaxPayload = 64 << 10

// SetRecorder records sampled predictions with r (nil: none).
func (m *Manager) SetRecorder(r Recorder) {
	if r == nil {
		m.recorder.Store(nil)
		return
	}
	m.recorder.Store(&r)
}

// capture wraps a response writer and keeps the first MaxPayload bytes of
// what is written.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	cut    bool
}

func (c *capture) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if room := MaxPayload - c.body.Len(); room > 0 {
		c.body.Write(p[:min(room, len(p))])
		c.cut = c.cut || len(p) > room
	} else if len(p) > 0 {
		c.cut = true
	}
	return c.ResponseWriter.Write(p)
}

// Flush lets streaming answers through.
func (c *capture) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// recorded serves a request through b and records it with rec: the
// request body is read first (the route's size limit bounds it) so that
// the recorded bytes are the ones forwarded. What it allocates a request
// is garbage the collector's work grows with, and that work slows every
// request in flight: the body is read into a buffer of its declared
// length (io.ReadAll's first 512 bytes were most of what a small recorded
// request allocated), and the capture and the body's reader are one
// allocation.
func recorded(rec Recorder, w http.ResponseWriter, r *http.Request, d *deployment, rev *revision, serve http.Handler) {
	start := time.Now()
	body, err := readBody(r.Body, r.ContentLength)
	if err != nil {
		writeError(w, http.StatusBadRequest, "read the request: "+err.Error())
		return
	}
	c := &recording{capture: capture{ResponseWriter: w}}
	c.body.Reset(body)
	r.Body = &c.body
	r.ContentLength = int64(len(body))
	serve.ServeHTTP(&c.capture, r)
	p := Prediction{Deployment: d.spec.Name, Model: rev.rev.Model, Protocol: "v1", At: start, Latency: time.Since(start),
		Status: c.status, Response: c.capture.body.Bytes(), Truncated: c.cut}
	if r.Method == http.MethodPost && len(r.URL.Path) > 3 && r.URL.Path[:4] == "/v2/" {
		p.Protocol = "v2"
	}
	p.Request = body
	if len(body) > MaxPayload {
		p.Request, p.Truncated = body[:MaxPayload], true
	}
	rec.Record(p)
}

// recording is a recorded request's capture of the answer and the reader
// of its body as forwarded.
type recording struct {
	capture
	body bodyReader
}

// bodyReader is a request body read already.
type bodyReader struct{ bytes.Reader }

func (bodyReader) Close() error { return nil }

// readBody reads r to its end into a buffer of size bytes (and one more,
// to see the end) when size is known, else as io.ReadAll does.
func readBody(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, size+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) { // longer than it said: grow as ReadAll does
			b = append(b, 0)[:len(b)]
		}
	}
}
