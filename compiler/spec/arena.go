package spec

import (
	"sync"

	"gopkg.in/yaml.v3"
)

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
