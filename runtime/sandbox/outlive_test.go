package sandbox

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNoProcessOutlivesTheStep is the seal race (issue 15): a step leaves
// detached processes (setsid, a double fork, nohup) that keep re-planting
// a symlink to a file outside its directory — the server's own — in a loop
// for seconds, and its main process ends at once. When Seal returns, no
// process of the step may be left (looked for in /proc), and what the
// server then reads from the step's outputs is never the outside file:
// Seal finds and removes the link or the step's own file is there, and it
// stays so afterwards. Repeated, as the race it guards is one of timing.
func TestNoProcessOutlivesTheStep(t *testing.T) {
	b := newBwrap(t)
	root := t.TempDir()
	secret := filepath.Join(root, "server", "secret")
	os.MkdirAll(filepath.Dir(secret), 0o700)
	if err := os.WriteFile(secret, []byte("the server's secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		step := filepath.Join(root, "step"+strconv.Itoa(i))
		os.MkdirAll(filepath.Join(step, "out"), 0o700)
		box, err := b.Step("r", []string{step}, nil)
		if err != nil {
			t.Fatal(err)
		}
		marker := "planter-" + strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(i) // $0 of the planters, to find them by
		// plant replaces out/data with a link to the secret, over and over
		// for 5 s (each planter on its own name first, then the output's).
		plant := `end=$(($(date +%s)+5)); while [ "$(date +%s)" -lt "$end" ]; do ln -sfn "$1" "out/.$$" && mv -fT "out/.$$" out/data; done`
		script := `
echo own > out/data
setsid sh -c '` + plant + `' "$0" "$1" </dev/null >/dev/null 2>&1 &
( ( sh -c '` + plant + `' "$0" "$1" </dev/null >/dev/null 2>&1 & ) & )
nohup sh -c '` + plant + `' "$0" "$1" </dev/null >/dev/null 2>&1 &
i=0; while [ ! -e out/seen ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`
		t.Cleanup(func() { killAll(processesOf(marker)) })
		cmd := exec.Command("sh", "-c", script, marker, secret)
		cmd.Dir, cmd.Env = step, []string{"PATH=" + Path}
		if err := box.Wrap(cmd); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The planters' pids, found while the step runs (its main process
		// waits until they are found: out/seen).
		var planters []int
		for deadline := time.Now().Add(10 * time.Second); len(planters) < 3 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			planters = planterPids(marker)
		}
		os.WriteFile(filepath.Join(step, "out", "seen"), nil, 0o644)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		if len(planters) < 3 {
			t.Fatalf("round %d: the step's planters did not start (%v): %s", i, planters, out.String())
		}
		serr := box.Seal()
		if left := alive(planters); len(left) > 0 {
			t.Errorf("round %d: processes of the step still run after Seal returned (pids %v of %v): %v", i, left, planters, serr)
		}
		for _, wait := range []time.Duration{0, 300 * time.Millisecond} {
			time.Sleep(wait)
			data, err := os.ReadFile(filepath.Join(step, "out", "data")) // as the server reads outputs
			if strings.Contains(string(data), "secret") {
				t.Fatalf("round %d, %v after Seal (%v): the server read the outside file through the step's output: %q", i, wait, serr, data)
			}
			if serr == nil && (err != nil || string(data) != "own\n") {
				t.Errorf("round %d, %v after a clean Seal: out/data is %q %v, want the step's own", i, wait, data, err)
			}
		}
	}
	b.Done("r")
}

// processesOf lists the pids whose command line names marker.
func processesOf(marker string) []int {
	var pids []int
	ps, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range ps {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(marker)) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			if pid != os.Getpid() {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func killAll(pids []int) {
	for _, pid := range pids {
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
	}
}

// planterPids are the planters among the processes of marker: the shells
// running the loop (not the step's main shell, bwrap or setpriv).
func planterPids(marker string) []int {
	var pids []int
	for _, pid := range processesOf(marker) {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil && bytes.HasPrefix(b, []byte("sh\x00-c\x00end=")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive are the pids of pids that still run (not ended, not zombies).
func alive(pids []int) []int {
	var live []int
	for _, pid := range pids {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X' {
			live = append(live, pid)
		}
	}
	return live
}
