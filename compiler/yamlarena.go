package compiler

import (
	"sync"

	yamlv2 "go.yaml.in/yaml/v2"
)

// treeArena is where a tree Marshal writes out and drops is built: its
// mappings' and lists' backing arrays are cut from chunks that go back to
// a pool once the YAML is written, instead of being allocated for every
// workflow. Only Marshal uses one: the tree must not outlive release.
type treeArena struct {
	items chunks[yamlv2.MapItem]
	anys  chunks[any]
}

// chunks hands out slices of fixed-size chunks, kept across uses.
type chunks[T any] struct {
	list [][]T
	at   int // chunk being cut
	used int // of list[at]
}

const arenaChunk = 512

// cut returns n zero elements (a slice of capacity n).
func (c *chunks[T]) cut(n int) []T {
	if n > arenaChunk/4 {
		return make([]T, n)
	}
	if c.at < len(c.list) && c.used+n > arenaChunk {
		c.at, c.used = c.at+1, 0
	}
	if c.at == len(c.list) {
		c.list = append(c.list, make([]T, arenaChunk))
	}
	s := c.list[c.at][c.used : c.used+n : c.used+n]
	c.used += n
	return s
}

// reset zeroes what was cut (the values it held may be collected) and
// makes every chunk available again.
func (c *chunks[T]) reset() {
	for i := 0; i < c.at && i < len(c.list); i++ {
		clear(c.list[i])
	}
	if c.at < len(c.list) {
		clear(c.list[c.at][:c.used])
	}
	c.at, c.used = 0, 0
}

var treeArenas = sync.Pool{New: func() any { return &treeArena{} }}

// newTreeArena takes an arena from the pool.
func newTreeArena() *treeArena { return treeArenas.Get().(*treeArena) }

// release clears the arena and puts it back; nothing cut from it may be
// used after.
func (a *treeArena) release() {
	a.items.reset()
	a.anys.reset()
	treeArenas.Put(a)
}

// mapSlice is a MapSlice of length n (capacity n) from a, or allocated
// when a is nil.
func (a *treeArena) mapSlice(n int) yamlv2.MapSlice {
	if a == nil {
		return make(yamlv2.MapSlice, n)
	}
	return a.items.cut(n)
}

// list is a []any of length n from a, or allocated when a is nil.
func (a *treeArena) list(n int) []any {
	if a == nil {
		return make([]any, n)
	}
	return a.anys.cut(n)
}
