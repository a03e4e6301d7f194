package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRunRedrawsOnATerminal runs `kubeline run` under a pseudo-terminal
// (util-linux script): the step lines are redrawn in place (cursor up, clear
// down), and the last drawing shows every step finished.
func TestRunRedrawsOnATerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Fatal("util-linux script is needed to give kubeline run a terminal: ", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kubeline")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(scriptBin, "-qec", bin+" run ../../examples/fan-out/pipeline.yaml", "/dev/null")
	cmd.Env = append(os.Environ(), "TERM=xterm", "KUBELINE_HOME="+filepath.Join(dir, "home"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubeline run under a terminal: %v\n%s", err, out)
	}
	s := string(out)
	if !regexp.MustCompile(`\x1b\[\d+A\x1b\[J`).MatchString(s) {
		t.Fatalf("no in-place redraw (cursor up + clear) in:\n%q", s)
	}
	last := s[strings.LastIndex(s, "\x1b[J"):]
	for _, step := range []string{"flip-coin", "square", "sum-all"} {
		if !strings.Contains(last, "✓ "+step) {
			t.Errorf("the last drawing lacks a finished %s:\n%s", step, last)
		}
	}
	if !strings.Contains(s, "output Output = 55") {
		t.Errorf("no pipeline output in:\n%s", s)
	}
}
