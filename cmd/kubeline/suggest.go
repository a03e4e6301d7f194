package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	chpo "github.com/kubeline/kubeline/compiler/hpo"
	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/hpo"
)

// suggestCmd is `kubeline suggest`: the next trial assignments of an
// Experiment given the trials so far — the step a compiled experiment calls
// each round. It prints {"assignments": [...], "exhausted": bool}.
func suggestCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("suggest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	trials := fs.String("trials", "[]", "the trials so far as JSON (or @FILE): [{\"params\":{...},\"state\":\"Succeeded\",\"value\":0.1}]")
	count := fs.Int("count", 1, "how many assignments to suggest")
	out := fs.String("o", "", "also write the answer to this `FILE`")
	if err := fs.Parse(interleave(args, fs)); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: kubeline suggest EXPERIMENT.yaml [--trials JSON|@FILE] [--count N] [-o FILE]")
		return 2
	}
	answer, err := suggest(fs.Arg(0), *trials, *count)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline suggest: %v\n", err)
		return 1
	}
	b, _ := json.Marshal(answer)
	fmt.Fprintln(stdout, string(b))
	if *out != "" {
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			fmt.Fprintf(stderr, "kubeline suggest: %v\n", err)
			return 1
		}
	}
	return 0
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
