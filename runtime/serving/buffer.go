package serving

import "sync"

// buffers lends the proxies their copy buffers: a ReverseProxy without a
// BufferPool allocates 32 KiB for every answer it copies — two thirds of
// the bytes the endpoint allocated per request (BenchmarkRecordingOverhead's
// memory profile), and the garbage collections they cost showed in every
// request's tail latency.
var buffers bufferPool

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
