package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubeline/kubeline/runtime/launcher"
)

// The engine records every step process it starts in Home/steps, one file
// per process while it runs, so that after the engine's process died with
// SIGKILL (when a parent-death signal kills only the step's first process)
// the next server finds what is left and kills it: KillLeftovers.

// stepRecord is one running step process.
type stepRecord struct {
	// PID leads the step's process group; Start is its start time (clock
	// ticks after boot, /proc/PID/stat), Boot the boot it started in.
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
	Boot  string `json:"boot"`
	// Owner is the engine's process and OwnerStart its start time: a
	// record whose owner still runs is not left over.
	Owner      int    `json:"owner"`
	OwnerStart uint64 `json:"owner_start"`
	// Workflow and Node name the step; WorkflowUID is in its environment
	// (KUBELINE_WORKFLOW_UID).
	Workflow    string `json:"workflow"`
	WorkflowUID string `json:"workflow_uid"`
	Node        string `json:"node"`
}

func stepsDir(home string) string { return filepath.Join(home, "steps") }

// track records the pod's processes while they run (nothing when the
// engine has no home or this system no /proc).
func (p *pod) track() launcher.Tracker {
	home := p.r.e.opts.Home
	if home == "" {
		return nil
	}
	return func(pid int) func() {
		start, _, err := procStat(pid)
		owner, oerr := ownStart()
		if err != nil || oerr != nil {
			return func() {}
		}
		rec := stepRecord{PID: pid, Start: start, Boot: thisBoot(), Owner: os.Getpid(), OwnerStart: owner,
			Workflow: p.r.wf.Name, WorkflowUID: string(p.r.wf.UID), Node: p.id}
		b, _ := json.Marshal(rec)
		path := filepath.Join(stepsDir(home), strconv.Itoa(pid)+".json")
		if os.MkdirAll(stepsDir(home), 0o700) != nil || os.WriteFile(path, b, 0o600) != nil {
			return func() {}
		}
		return func() { os.Remove(path) }
	}
}

// ownStart is this process's start time (procStat), read once: every
// step record names it.
var ownStart = sync.OnceValues(func() (uint64, error) {
	start, _, err := procStat(os.Getpid())
	return start, err
})

// thisBoot is bootID, read once.
var thisBoot = sync.OnceValue(bootID)

// Leftover is a step process group an engine that died left running.
type Leftover struct {
	Workflow, Node string
	// Killed are the processes of the group that were killed.
	Killed []int
}

// KillLeftovers kills what is left of the steps recorded under home by
// engines whose process is gone (their records stay while they run): the
// members of each recorded process group that started with or after its
// leader in this boot. It forgets those records and returns what it found,
// whether or not anything was still running.
func KillLeftovers(home string) ([]Leftover, error) {
	entries, err := os.ReadDir(stepsDir(home))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the step records: %w", err)
	}
	boot := bootID()
	var left []Leftover
	for _, e := range entries {
		path := filepath.Join(stepsDir(home), e.Name())
		var rec stepRecord
		b, err := os.ReadFile(path)
		if err != nil || json.Unmarshal(b, &rec) != nil || rec.PID <= 0 {
			os.Remove(path)
			continue
		}
		if s, _, err := procStat(rec.Owner); err == nil && s == rec.OwnerStart && rec.Boot == boot {
			continue // its engine still runs it
		}
		l := Leftover{Workflow: rec.Workflow, Node: rec.Node}
		if rec.Boot == boot {
			l.Killed = killGroup(rec)
		}
		left = append(left, l)
		os.Remove(path)
	}
	return left, nil
}

// killGroup kills the processes of rec's group that are the step's: its
// leader (the recorded pid and start time), and those in its process group
// that started no earlier than it and, when their environment can be read,
// carry its workflow's uid (a step forked by a Python zygote shows the
// zygote's environment, but it is the leader).
func killGroup(rec stepRecord) []int {
	procs, _ := os.ReadDir("/proc")
	var killed []int
	for _, d := range procs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		start, pgrp, err := procStat(pid)
		leader := pid == rec.PID && start == rec.Start
		if err != nil || pgrp != rec.PID || start < rec.Start || !leader && !stepEnv(pid, rec) {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed = append(killed, pid)
		}
	}
	waitGone(killed, 5*time.Second)
	return killed
}

// waitGone waits until the killed processes have exited (gone from /proc,
// a zombie, or their pid reused), at most d: a SIGKILL is delivered when
// the process next runs, which on a busy machine is not at once, and the
// runs are ended as killed only after it (their reapers are not this
// process, so there is nothing to wait(2) for).
func waitGone(pids []int, d time.Duration) {
	starts := map[int]uint64{}
	for _, pid := range pids {
		if start, _, err := procStat(pid); err == nil {
			starts[pid] = start
		}
	}
	for end := time.Now().Add(d); len(starts) > 0 && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		for pid, start := range starts {
			if s, _, err := procStat(pid); err != nil || s != start || procState(pid) == 'Z' {
				delete(starts, pid)
			}
		}
	}
}

// procState is the state letter of /proc/PID/stat (R, S, Z, ...); 0 when
// it cannot be read.
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2]
	}
	return 0
}

// stepEnv says whether process pid may be rec's step: its environment
// names rec's workflow, or cannot be read.
func stepEnv(pid int, rec stepRecord) bool {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil || len(env) == 0 || rec.WorkflowUID == "" {
		return true
	}
	return bytes.Contains(env, []byte("KUBELINE_WORKFLOW_UID="+rec.WorkflowUID+"\x00"))
}

// procStat reads a process's start time (clock ticks after boot) and
// process group from /proc/PID/stat.
func procStat(pid int) (start uint64, pgrp int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state): pgrp is field 5, starttime field 22.
	if pgrp, err = strconv.Atoi(f[2]); err == nil {
		start, err = strconv.ParseUint(f[19], 10, 64)
	}
	return start, pgrp, err
}

// bootID names this boot ("" where unknown).
func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(b))
}
