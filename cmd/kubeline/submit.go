package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/apiserver"
)

// submitOptions are how `kubeline run FILE --server URL` hands the run to
// a server instead of running it here.
type submitOptions struct {
	detach, startAnyway bool
	poll                time.Duration
}

// submit creates the run on the server (KFP's POST /apis/v2beta1/runs with
// the pipeline inline) — the pipeline was compiled here first, so its
// errors name the user's file — and follows it to its end: the state and,
// while it waits, why (admission's reason), on stderr; the final run as
// -o asks. It returns the exit code: 0 only when the run SUCCEEDED.
func (o *runOptions) submit(ctx context.Context, c *apiClient, stdout, stderr io.Writer) int {
	body, err := o.runBody()
	if err != nil {
		fmt.Fprintf(stderr, "kubeline run %s: %v\n", o.file, err)
		return exitFailure
	}
	var run map[string]any
	if err := c.call("POST", "/apis/v2beta1/runs", body, &run); err != nil {
		fmt.Fprintf(stderr, "kubeline run %s --server %s:\n%v\n", o.file, c.server, err)
		return exitFailure
	}
	id := str(run["run_id"])
	fmt.Fprintf(stderr, "run %s (%s) created on %s\n", id, str(run["display_name"]), c.server)
	if o.remote.detach {
		fmt.Fprintln(stdout, id)
		return exitOK
	}
	last := ""
	for {
		if err := c.call("GET", "/apis/v2beta1/runs/"+url.PathEscape(id), nil, &run); err != nil {
			fmt.Fprintf(stderr, "kubeline run: follow run %s: %v\n", id, err)
			return exitFailure
		}
		state := str(run["state"])
		line := state
		if state == "PENDING" {
			var adm map[string]any
			if c.call("GET", "/runs/"+url.PathEscape(id), nil, &adm) == nil && str(adm["reason"]) != "" {
				line += " (" + str(adm["status"]) + ": " + str(adm["reason"]) + ")"
			}
		}
		if line != last {
			fmt.Fprintf(stderr, "run %s %s\n", id, line)
			last = line
		}
		switch state {
		case "SUCCEEDED", "FAILED", "CANCELED", "SKIPPED":
			return o.printSubmitted(c, stdout, stderr, run)
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(stderr, "kubeline run: stopped following run %s; it goes on on the server (kubeline runs status %s)\n", id, id)
			return exitFailure
		case <-time.After(o.remote.poll):
		}
	}
}

func (o *runOptions) printSubmitted(c *apiClient, stdout, stderr io.Writer, run map[string]any) int {
	if o.output != "table" {
		_ = printOutput(stdout, o.output, run, nil)
	} else {
		fmt.Fprintf(stdout, "run %s %s %s\n", str(run["run_id"]), str(run["display_name"]), str(run["state"]))
		if err := printServerRecord(c, stdout, str(run["run_id"])); err != nil {
			fmt.Fprintf(stderr, "kubeline run: the versions and metrics of run %s: %v\n", str(run["run_id"]), err)
		}
	}
	if str(run["state"]) != "SUCCEEDED" {
		if e, ok := run["error"].(map[string]any); ok && str(e["message"]) != "" {
			fmt.Fprintf(stderr, "run %s %s: %s\n", str(run["run_id"]), str(run["state"]), str(e["message"]))
		}
		return exitFailure
	}
	return exitOK
}

// runBody is the KFP create-run body: the pipeline file's documents as
// pipeline_spec (and platform_spec), --param values and --version mappings
// as runtime_config.parameters.
func (o *runOptions) runBody() (map[string]any, error) {
	data, err := os.ReadFile(o.file)
	if err != nil {
		return nil, err
	}
	if data, err = spec.Unpack(filepath.Base(o.file), data); err != nil {
		return nil, err
	}
	var docs []any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if v != nil {
			docs = append(docs, v)
		}
	}
	if len(docs) == 0 {
		return nil, errors.New("the file is empty")
	}
	var pipeline any = docs[0]
	if len(docs) > 1 {
		pipeline = map[string]any{"pipeline_spec": docs[0], "platform_spec": docs[1]}
	}
	params := map[string]any{}
	for k, v := range o.params {
		params[k] = v
	}
	for k, v := range o.outputs {
		params[apiserver.VersionParamPrefix+k] = v
	}
	name := strings.TrimSuffix(filepath.Base(o.file), filepath.Ext(o.file))
	if d, ok := docs[0].(map[string]any); ok {
		if info, ok := d["pipelineInfo"].(map[string]any); ok && str(info["name"]) != "" {
			name = str(info["name"])
		}
	}
	return map[string]any{"display_name": runDisplayName(o.file, name), "pipeline_spec": pipeline, "start_anyway": o.remote.startAnyway,
		"runtime_config": map[string]any{"parameters": params}}, nil
}

// printServerRecord prints what a server's run used and produced and its
// metrics, as a run here prints them (printRunRecord).
func printServerRecord(c *apiClient, w io.Writer, id string) error {
	var run, metrics map[string]any
	if err := c.call("GET", "/runs/"+url.PathEscape(id), nil, &run); err != nil {
		return err
	}
	if err := c.call("GET", "/runs/"+url.PathEscape(id)+"/metrics", nil, &metrics); err != nil {
		return err
	}
	var vs []runVersion
	for _, v := range items(run, "versions") {
		n, _ := v["version"].(float64)
		vs = append(vs, runVersion{kind: str(v["kind"]), name: str(v["name"]), version: int(n), task: str(v["task"]),
			produced: v["how"] == "produced", created: v["created"] == true, digest: str(v["sha256"])})
	}
	var ms []string
	for _, m := range items(metrics, "metrics") {
		value, _ := m["number_value"].(float64)
		ms = append(ms, fmt.Sprintf("%s.%s=%g", str(m["task"]), str(m["name"]), value))
	}
	printRunRecord(w, vs, ms)
	return nil
}
