package tool

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMakeToolsBuildsOnlyWhatIsMissing runs the Makefile's tools rule with a
// stand-in for go that records what it is asked to do: the slow builds of
// versitygw and helm (minutes each) happen only for a tool that is missing,
// and never when the tool is on PATH, in GOBIN or named by its variable.
func TestMakeToolsBuildsOnlyWhatIsMissing(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is needed: %v", err)
	}
	tests := []struct {
		name    string
		present []string          // tools already in GOBIN
		env     map[string]string // extra environment
		want    []string          // tools go install is called for
	}{
		{name: "fresh machine", want: []string{"versitygw", "helm"}},
		{name: "both installed", present: []string{"versitygw", "helm"}},
		{name: "helm missing", present: []string{"versitygw"}, want: []string{"helm"}},
		{name: "named by variables", env: map[string]string{"KUBELINE_VERSITYGW": "/bin/true", "KUBELINE_HELM": "/bin/true"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			gobin := filepath.Join(dir, "bin")
			if err := os.Mkdir(gobin, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.present {
				if err := os.WriteFile(filepath.Join(gobin, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			log := filepath.Join(dir, "go.log")
			fakeGo := filepath.Join(dir, "go")
			script := "#!/bin/sh\nif [ \"$1\" = env ]; then echo " + gobin + "; exit 0; fi\necho \"$@\" >> " + log + "\n"
			if err := os.WriteFile(fakeGo, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("make", "-s", "-C", "../..", "tools", "GO="+fakeGo)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
			for k, v := range tc.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make tools: %v\n%s", err, out)
			}
			calls, err := os.ReadFile(log)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(string(calls)), "\n") {
				if m := regexp.MustCompile(`^install .*/cmd/(\w+)@v`).FindStringSubmatch(line); m != nil {
					got = append(got, m[1])
				} else if line != "" {
					t.Errorf("unexpected go call: %q", line)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("go install called for %v, want %v", got, tc.want)
			}
		})
	}
}

// TestREADMEStatesMeasuredTimes: the README's two commands come with times
// measured on a stated date, cold and warm, for the first command, each tool
// and make test.
func TestREADMEStatesMeasuredTimes(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !regexp.MustCompile(`Times measured on \d{4}-\d{2}-\d{2}`).MatchString(s) {
		t.Error("README: no \"Times measured on YYYY-MM-DD\"")
	}
	for _, row := range []string{"| first command", "| `make tools`: versitygw", "| `make tools`: helm", "| `make test` after `make tools`"} {
		i := strings.Index(s, row)
		if i < 0 {
			t.Errorf("README: no row %q in the times table", row)
			continue
		}
		line := s[i : i+strings.Index(s[i:], "\n")]
		if !regexp.MustCompile(`\d+ min( \d+ s)?`).MatchString(line) {
			t.Errorf("README row %q states no time: %s", row, line)
		}
	}
}
