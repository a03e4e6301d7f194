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
// the recorded bytes are the ones forwarded.
func recorded(rec Recorder, w http.ResponseWriter, r *http.Request, d *deployment, rev *revision, serve http.Handler) {
	start := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "read the request: "+err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	c := &capture{ResponseWriter: w}
	serve.ServeHTTP(c, r)
	p := Prediction{Deployment: d.spec.Name, Model: rev.rev.Model, Protocol: "v1", At: start, Latency: time.Since(start),
		Status: c.status, Response: c.body.Bytes(), Truncated: c.cut}
	if r.Method == http.MethodPost && len(r.URL.Path) > 3 && r.URL.Path[:4] == "/v2/" {
		p.Protocol = "v2"
	}
	p.Request = body
	if len(body) > MaxPayload {
		p.Request, p.Truncated = body[:MaxPayload], true
	}
	rec.Record(p)
}
