package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	chpo "github.com/kubeline/kubeline/compiler/hpo"
	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/hpo"
)

// newSuggestCmd is `kubeline suggest`: the next trial assignments of an
// Experiment given the trials so far — the step a compiled experiment calls
// each round. It prints {"assignments": [...], "exhausted": bool}.
func newSuggestCmd(s streams) *cobra.Command {
	var trials, out string
	var count int
	c := &cobra.Command{
		Use:   "suggest EXPERIMENT.yaml",
		Short: "the next trial assignments of an Experiment given the trials so far",
		Args:  exactArgs("EXPERIMENT.yaml"),
		RunE: func(_ *cobra.Command, args []string) error {
			answer, err := suggest(args[0], trials, count)
			if err != nil {
				return reportErr(s, "kubeline suggest", err)
			}
			b, _ := json.Marshal(answer)
			fmt.Fprintln(s.out, string(b))
			if out != "" {
				return reportErr(s, "kubeline suggest", os.WriteFile(out, b, 0o644))
			}
			return nil
		},
	}
	c.Flags().StringVar(&trials, "trials", "[]", "the trials so far as JSON (or @FILE): [{\"params\":{...},\"state\":\"Succeeded\",\"value\":0.1}]")
	c.Flags().IntVar(&count, "count", 1, "how many assignments to suggest")
	c.Flags().StringVarP(&out, "output", "o", "", "also write the answer to this `FILE`")
	return c
}

type trialJSON struct {
	Name    string            `json:"name,omitempty"`
	Params  map[string]string `json:"params"`
	State   string            `json:"state"`
	Value   float64           `json:"value"`
	Reports []float64         `json:"reports,omitempty"`
}

type suggestion struct {
	Assignments []hpo.Assignment `json:"assignments"`
	Exhausted   bool             `json:"exhausted"`
}

func suggest(file, trials string, count int) (*suggestion, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	docs, err := spec.Parse(data)
	if err != nil {
		return nil, err
	}
	e, err := chpo.Decode(docs[0].Node)
	if err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if strings.HasPrefix(trials, "@") {
		b, err := os.ReadFile(filepath.Clean(trials[1:]))
		if err != nil {
			return nil, err
		}
		trials = string(b)
	}
	var tj []trialJSON
	if err := json.Unmarshal([]byte(trials), &tj); err != nil {
		return nil, fmt.Errorf("--trials: %w", err)
	}
	history := make([]hpo.Trial, len(tj))
	for i, t := range tj {
		history[i] = hpo.Trial{Name: t.Name, Params: t.Params, State: hpo.TrialState(t.State), Value: t.Value, Reports: t.Reports}
	}
	cj, err := e.ConfigJSON()
	if err != nil {
		return nil, err
	}
	c, err := hpo.ParseExperiment(cj)
	if err != nil {
		return nil, err
	}
	s, err := hpo.New(c.Algorithm, c.Space, c.Settings, c.Direction)
	if err != nil {
		return nil, err
	}
	got, err := s.Suggest(history, count)
	if err != nil {
		return nil, err
	}
	return &suggestion{Assignments: got, Exhausted: len(got) < count}, nil
}
