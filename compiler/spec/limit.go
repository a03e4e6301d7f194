package spec

import (
	"bytes"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// ErrLimit marks input refused because it exceeds one of the Limits; the
// error's message names the limit.
var ErrLimit = errors.New("limit exceeded")

// Limits bound what reading a file may cost, whoever wrote it. The zero
// value of a field means its DefaultLimits value.
type Limits struct {
	// Nodes is the most YAML nodes a file may hold with every alias
	// expanded. It is also checked before parsing: a file whose structural
	// characters could make more nodes is refused unparsed.
	Nodes int64
	// Bytes is the most scalar bytes a file may hold with every alias
	// expanded.
	Bytes int64
	// ArchiveBytes is the most bytes an archive's members may expand to,
	// all together; ArchiveMembers the most entries it may have.
	ArchiveBytes   int64
	ArchiveMembers int
}

// DefaultLimits hold a KFP pipeline of a few megabytes and refuse alias
// bombs and archive bombs before they cost more than tens of megabytes.
var DefaultLimits = Limits{Nodes: 200_000, Bytes: 16 << 20, ArchiveBytes: 64 << 20, ArchiveMembers: 1000}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.Nodes > 0 {
		d.Nodes = l.Nodes
	}
	if l.Bytes > 0 {
		d.Bytes = l.Bytes
	}
	if l.ArchiveBytes > 0 {
		d.ArchiveBytes = l.ArchiveBytes
	}
	if l.ArchiveMembers > 0 {
		d.ArchiveMembers = l.ArchiveMembers
	}
	return d
}

// limitError is an ErrLimit with its message.
func limitError(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrLimit)
}

// nodeBound is the most YAML nodes data can hold: every node but a
// document's root hangs off an indicator of its parent ("- ", ':', ',',
// '[', '{', '?'), and a mapping entry or flow item makes at most two
// (a key and its value). Line-start "---" and "..." start documents
// (a document node and its root). The bound is cheap and never too low, so
// a file under it can be parsed without risk.
func nodeBound(data []byte) int64 {
	n := int64(2)
	for i, c := range data {
		switch c {
		case ':', ',', '[', '{', '?':
			n += 2
		case '-':
			if i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\t' || data[i+1] == '\n' || data[i+1] == '\r' {
				n++
			}
		}
	}
	for _, marker := range [][]byte{[]byte("\n---"), []byte("\n...")} {
		n += 2 * int64(bytes.Count(data, marker))
	}
	return n + 2
}

// expansion counts what a YAML tree becomes with its aliases expanded,
// each node once (memo), so an alias bomb costs its size, not its
// expansion. A node that is still being counted when an alias reaches it
// is an alias cycle.
type expansion struct {
	lim    Limits
	memo   map[*yaml.Node][2]int64 // nodes, bytes
	active map[*yaml.Node]bool
}

// checkExpansion refuses a document that expands beyond lim (the alias
// that crosses the budget is named with its position) or holds an alias
// cycle.
func checkExpansion(root *yaml.Node, lim Limits) error {
	// A tree without aliases is its own expansion: count it in one walk
	// without the memo, and take the memo's walk only for aliases or a
	// tree over the limits (whose error names the node that crosses them).
	if nodes, size, alias := plainSize(root); !alias && nodes <= lim.Nodes && size <= lim.Bytes {
		return nil
	}
	x := &expansion{lim: lim, memo: map[*yaml.Node][2]int64{}, active: map[*yaml.Node]bool{}}
	_, _, err := x.size(root)
	return err
}

func (x *expansion) size(n *yaml.Node) (nodes, size int64, err error) {
	if got, ok := x.memo[n]; ok {
		return got[0], got[1], nil
	}
	if n.Kind == yaml.AliasNode && x.active[n.Alias] {
		return 0, 0, x.errAt(n, "an alias refers to a node that contains it (an alias cycle)")
	}
	x.active[n] = true
	defer delete(x.active, n)
	nodes, size = 1, int64(len(n.Value))
	kids := n.Content
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		kids, size = []*yaml.Node{n.Alias}, 0
		nodes = 0
	}
	for _, k := range kids {
		kn, kb, err := x.size(k)
		if err != nil {
			return 0, 0, err
		}
		nodes, size = nodes+kn, size+kb
		if nodes > x.lim.Nodes {
			return 0, 0, x.errAt(k, "with its aliases expanded the document has more than %d YAML nodes (limit --max-yaml-nodes)", x.lim.Nodes)
		}
		if size > x.lim.Bytes {
			return 0, 0, x.errAt(k, "with its aliases expanded the document has more than %d bytes of scalars (limit --max-yaml-bytes)", x.lim.Bytes)
		}
	}
	x.memo[n] = [2]int64{nodes, size}
	return nodes, size, nil
}

func (x *expansion) errAt(n *yaml.Node, format string, args ...any) error {
	var es Errors
	es.AddErr("", PosOf(n), limitError(format, args...))
	return es.Err()
}

// plainSize counts the nodes and scalar bytes of a tree as written, and
// tells whether it holds an alias.
func plainSize(n *yaml.Node) (nodes, size int64, alias bool) {
	if n.Kind == yaml.AliasNode {
		return 0, 0, true
	}
	nodes, size = 1, int64(len(n.Value))
	for _, k := range n.Content {
		kn, kb, ka := plainSize(k)
		if ka {
			return 0, 0, true
		}
		nodes, size = nodes+kn, size+kb
	}
	return nodes, size, false
}
