package admission

import (
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
