package spec

import (
	"sync"

	"gopkg.in/yaml.v3"
)

// readBlock returns the documents of data as yaml.Decoder returns them one
// by one (DocumentNodes), or ok false when data is outside the subset.
func readBlock(data []byte) (docs []*yaml.Node, nodes, size int64, ok bool) {
	return readBlockSized(data, nodeBound(data))
}

// readBlockSized is readBlock with the node slab sized for bound nodes
// (nodeBound's bound: about 1.35 times the nodes of the SDK's files), or,
// for a bound below 0, for one node per 32 bytes (the corpus averages 25
// bytes a node, from 10 to 150): a slab that runs out grows by chunks of
// slabChunk nodes, wasting less than one chunk where the bound wastes a
// third of the slab.
func readBlockSized(data []byte, bound int64) (docs []*yaml.Node, nodes, size int64, ok bool) {
	docs, nodes, size, ok, _ = readBlockIn(data, bound, nil)
	return docs, nodes, size, ok
}

// readBlockIn is readBlockSized cutting the tree from a when a is not nil;
// used says whether the read took memory from a (a file outside the subset
// may have, before the reader gave up).
func readBlockIn(data []byte, bound int64, a *arena) (docs []*yaml.Node, nodes, size int64, ok, used bool) {
	if bound < 0 {
		bound = int64(len(data))/32 + 8
	}
	if len(data) > 0 && (data[0] == '{' || data[0] == '[') {
		return nil, 0, 0, false, false // JSON: a flow collection, not worth a slab
	}
	text, ascii := blockText(data)
	if !text {
		return nil, 0, 0, false, false
	}
	r := &blockReader{s: string(data), line: 1, runes: !ascii, arena: a}
	if a != nil {
		r.kids, r.buf = a.kids, a.buf
		defer func() { a.kids, a.buf = r.kids[:0], r.buf[:0] }()
	} else {
		r.nodes = make([]yaml.Node, 0, min(bound, 1<<16))
	}
	defer func() {
		if v := recover(); v != nil {
			if _, isBail := v.(bail); !isBail {
				panic(v)
			}
			docs, ok = nil, false
		}
	}()
	docs = r.stream()
	return docs, r.count, r.size, true, a != nil
}

// arena is the memory the block reader cuts a tree from (nodes, Content
// slices, its scratch stacks), kept between reads by ParseReusing's
// release: a caller that compiles file after file (a server, a benchmark)
// reuses one tree's memory for the next instead of leaving it to the
// garbage collector.
type arena struct {
	nodes   [][]yaml.Node
	content [][]*yaml.Node
	// usedNodes and usedContent count the chunks handed out since the
	// last reset.
	usedNodes, usedContent int
	kids                   []*yaml.Node
	buf                    []byte
}

// Chunk sizes of a reused arena: large, since they are allocated once.
const (
	arenaNodes   = 256
	arenaContent = 512
)

var arenas = sync.Pool{New: func() any { return new(arena) }}

func (a *arena) nodeChunk() []yaml.Node {
	if a.usedNodes == len(a.nodes) {
		a.nodes = append(a.nodes, make([]yaml.Node, arenaNodes))
	}
	a.usedNodes++
	return a.nodes[a.usedNodes-1][:0]
}

func (a *arena) contentChunk(k int) []*yaml.Node {
	if a.usedContent < len(a.content) && cap(a.content[a.usedContent]) >= k {
		a.usedContent++
		return a.content[a.usedContent-1][:0]
	}
	c := make([]*yaml.Node, max(k, arenaContent))
	// Kept in order: a chunk too small for k stays, after this one.
	a.content = append(a.content, nil)
	copy(a.content[a.usedContent+1:], a.content[a.usedContent:])
	a.content[a.usedContent] = c
	a.usedContent++
	return c[:0]
}

// reset clears what the last tree left (nothing it pointed to stays
// reachable) and makes every chunk free again.
func (a *arena) reset() {
	for _, c := range a.nodes[:a.usedNodes] {
		clear(c)
	}
	for _, c := range a.content[:a.usedContent] {
		clear(c)
	}
	clear(a.kids[:cap(a.kids)])
	a.usedNodes, a.usedContent = 0, 0
	a.kids, a.buf = a.kids[:0], a.buf[:0]
}

// ParseReusing is Parse whose tree is cut from memory kept between calls:
// release gives it back, after which no node of docs may be used (strings
// taken from them stay valid: they are not the arena's). Call release once,
// and only when nothing holds a node.
func (l Limits) ParseReusing(data []byte) (docs []Document, release func(), err error) {
	a := arenas.Get().(*arena)
	docs, used, err := l.parse(data, a)
	if !used {
		arenas.Put(a)
		return docs, func() {}, err
	}
	return docs, func() {
		a.reset()
		arenas.Put(a)
	}, err
}
