package local_test

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/sandbox"
)

// trueWorkflow is a DAG of n `true` steps: independent (fan-out) or each
// depending on the one before (chain).
func trueWorkflow(n int, chain bool) *wfv1.Workflow {
	wf := &wfv1.Workflow{}
	wf.Name = "bench"
	wf.Spec.Entrypoint = "main"
	dag := &wfv1.DAGTemplate{}
	for i := 0; i < n; i++ {
		task := wfv1.DAGTask{Name: fmt.Sprintf("t%d", i), Template: "true"}
		if chain && i > 0 {
			task.Depends = fmt.Sprintf("t%d", i-1)
		}
		dag.Tasks = append(dag.Tasks, task)
	}
	wf.Spec.Templates = []wfv1.Template{
		{Name: "main", DAG: dag},
		{Name: "true", Container: &corev1Container},
	}
	return wf
}

func runBench(b *testing.B, wf *wfv1.Workflow, steps int) {
	b.Helper()
	runBenchWith(b, wf, steps, local.Options{Home: b.TempDir()})
}

func runBenchWith(b *testing.B, wf *wfv1.Workflow, steps int, opts local.Options) {
	b.Helper()
	e := local.New(opts)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := e.Run(context.Background(), wf)
		if err != nil || out.Status.Phase != wfv1.WorkflowSucceeded {
			b.Fatalf("run: %v %s", err, out.Status.Phase)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(steps), "ns/step")
	// CPU time of the engine and every process it started, per step: what
	// a step costs when the machine is not shared (wall time on a busy
	// machine is mostly waiting for a CPU).
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N)/float64(steps), "cpu-ms/step")
}

// cpuTime is the user and system time of this process and of its waited-for
// children.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// BenchmarkForkExecTrue is the floor: starting `true` directly.
func BenchmarkForkExecTrue(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if err := exec.Command("true").Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/step")
}

func BenchmarkFanOut1000(b *testing.B) { runBench(b, trueWorkflow(1000, false), 1000) }

func BenchmarkChain200(b *testing.B) { runBench(b, trueWorkflow(200, true), 200) }

// BenchmarkNodes10000 runs a 10,000-step workflow and reports the process's
// peak resident memory.
func BenchmarkNodes10000(b *testing.B) {
	runBench(b, trueWorkflow(10000, false), 10000)
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
	}
}

var corev1Container = trueContainer()

// BenchmarkStepIsolation runs a chain of 20 `true` steps on the engine of a
// single-user server and on a multi-user server's, which runs every step in
// its sandbox (runtime/sandbox): the difference of ns/step is what the
// sandbox adds to each step. side-by-side runs the two chains in turns and
// reports both and their difference per step (single-ms/step,
// sandboxed-ms/step, added-ms/step), so that both see the same load.
// (cpu-ms/step counts the processes the engine waited for: it leaves out
// the sandbox's init and the step's command, which bwrap does not wait for.)
func BenchmarkStepIsolation(b *testing.B) {
	wf := trueWorkflow(20, true)
	b.Run("single-user", func(b *testing.B) { runBenchWith(b, wf, 20, local.Options{Home: b.TempDir()}) })
	b.Run("sandboxed", func(b *testing.B) {
		sb, err := sandbox.New(sandbox.Options{})
		if err != nil {
			b.Fatal(err)
		}
		runBenchWith(b, wf, 20, local.Options{Home: b.TempDir(), Sandbox: sb, Confined: true})
	})
	b.Run("side-by-side", func(b *testing.B) {
		sb, err := sandbox.New(sandbox.Options{})
		if err != nil {
			b.Fatal(err)
		}
		engines := []*local.Engine{local.New(local.Options{Home: b.TempDir()}),
			local.New(local.Options{Home: b.TempDir(), Sandbox: sb, Confined: true})}
		var took [2]time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for k, e := range engines {
				start := time.Now()
				out, err := e.Run(context.Background(), wf)
				if err != nil || out.Status.Phase != wfv1.WorkflowSucceeded {
					b.Fatalf("run: %v %s", err, out.Status.Phase)
				}
				took[k] += time.Since(start)
			}
		}
		perStep := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) / 20 }
		b.ReportMetric(perStep(took[0]), "single-ms/step")
		b.ReportMetric(perStep(took[1]), "sandboxed-ms/step")
		b.ReportMetric(perStep(took[1]-took[0]), "added-ms/step")
	})
}
