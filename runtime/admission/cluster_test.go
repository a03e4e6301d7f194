package admission

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var cluster = []ClusterNode{{"n1", "a100", 8}, {"n2", "a100", 4}, {"m1", "t4", 2}}

func TestWithDefault(t *testing.T) {
	cases := []struct {
		name  string
		pools []Pool
		want  []Pool
	}{
		{"no pools: the default holds every GPU", nil,
			[]Pool{{Name: "default", GPUType: "a100+t4", Nodes: []Node{{"n1", 8}, {"n2", 4}, {"m1", 2}}}}},
		{"a pool takes part of a node and a whole node", []Pool{{Name: "train", GPUType: "a100", Nodes: []Node{{"n1", 6}, {"n2", 4}}}},
			[]Pool{{Name: "default", GPUType: "a100+t4", Nodes: []Node{{"n1", 2}, {"m1", 2}}},
				{Name: "train", GPUType: "a100", Nodes: []Node{{"n1", 6}, {"n2", 4}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := WithDefault(cluster, tc.pools)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
			var total int64
			for _, p := range got {
				for _, n := range p.Nodes {
					total += n.GPUs
				}
			}
			if total != 14 {
				t.Fatalf("pools hold %d GPUs, the cluster 14", total)
			}
		})
	}
}

func TestValidatePools(t *testing.T) {
	cases := []struct {
		name  string
		pools []Pool
		want  []string
	}{
		{"valid", []Pool{{Name: "a", GPUType: "a100", Nodes: []Node{{"n1", 8}}}, {Name: "b", GPUType: "t4", Nodes: []Node{{"m1", 1}}}}, nil},
		{"every problem at its field", []Pool{
			{Name: "default", Nodes: []Node{{"n1", 1}}},
			{Name: "", GPUType: "t4", Nodes: []Node{{"n1", 1}, {"zz", 1}, {"m1", 0}}},
			{Name: "x"},
			{Name: "x", GPUType: "a100", Nodes: []Node{{"n1", 8}}},
		}, []string{
			`pools[0].name: "default" is the default pool, which holds every GPU not given to another pool`,
			`pools[1].name: is required`,
			`pools[1].nodes[0].name: node "n1" has a100 GPUs, the pool holds t4`,
			`pools[1].nodes[1].name: the cluster has no node "zz"`,
			`pools[1].nodes[2].gpus: must be positive, got 0`,
			`pools[2].nodes: a pool needs at least one node`,
			`pools[3].name: pool "x" is defined twice`,
			`pools: node "n1" has 8 GPUs, the pools are given 10`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			if err := ValidatePools(cluster, tc.pools); err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestDecideIgnoresDeletedPool(t *testing.T) {
	s := State{Pools: pools(), Groups: map[string]string{"ml": "a100"},
		Running: []Allocation{{Run: "gone", Pool: "deleted", Nodes: map[string]int64{"x": 1}}},
		Queue:   []Request{{Run: "r", Group: "ml", Demand: Demand{GPUs: 1, LargestStep: 1}, Enqueued: t0}}}
	if d := Decide(s, t0, Options{}); len(d.Admit) != 1 {
		t.Fatalf("%+v", d)
	}
}

// TestReconcilePools: pools made for yesterday's --gpus fit today's
// cluster: gone nodes leave, retyped nodes leave, overgiven nodes shrink (in
// pool-name order), and afterwards the pools validate and add up.
func TestReconcilePools(t *testing.T) {
	now := []ClusterNode{{"n1", "a100", 6}, {"n3", "a100", 4}, {"m1", "a100", 2}}
	before := []Pool{
		{Name: "b", GPUType: "a100", Nodes: []Node{{"n1", 4}, {"n2", 5}}},
		{Name: "a", GPUType: "a100", Nodes: []Node{{"n1", 4}}},
		{Name: "t", GPUType: "t4", Nodes: []Node{{"m1", 2}}},
		{Name: "ok", GPUType: "a100", Nodes: []Node{{"n3", 1}}},
	}
	changed, notes := ReconcilePools(now, before)
	wantChanged := []Pool{
		{Name: "b", GPUType: "a100", Nodes: []Node{{"n1", 2}}},
		{Name: "t", GPUType: "t4"},
	}
	if d := cmp.Diff(wantChanged, changed); d != "" {
		t.Errorf("changed (-want +got):\n%s", d)
	}
	wantNotes := []string{
		`pool b: node "n1" has 2 GPUs left for it, not 4: the pool keeps 2; node "n2" is no longer in the cluster: its 5 GPUs leave the pool`,
		"pool t: node \"m1\" now has a100 GPUs, the pool holds t4: its 2 GPUs leave the pool; it now holds no GPUs: give it nodes with `kubeline pools update t --nodes NODE=GPUS,...`",
	}
	if d := cmp.Diff(wantNotes, notes); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
	after := map[string]Pool{}
	for _, p := range before {
		after[p.Name] = p
	}
	for _, p := range changed {
		after[p.Name] = p
	}
	var all []Pool
	var total int64
	for _, p := range WithDefault(now, slices.Collect(maps.Values(after))) {
		for _, n := range p.Nodes {
			total += n.GPUs
		}
		if p.Name != DefaultPool && len(p.Nodes) > 0 {
			all = append(all, p)
		}
	}
	if err := ValidatePools(now, all); err != nil {
		t.Errorf("reconciled pools do not validate: %v", err)
	}
	if total != 12 {
		t.Errorf("pools add up to %d GPUs, the cluster has 12", total)
	}
	if changed, notes := ReconcilePools(now, slices.Collect(maps.Values(after))); len(changed)+len(notes) != 0 {
		t.Errorf("a second reconcile changed %v: %v", changed, notes)
	}
}
