package compiler

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// FuzzCompile feeds arbitrary bytes through decode + compile: it must return
// a workflow or an error, never panic. Seeded with the corpus and the
// regression cases under testdata/fuzz.
func FuzzCompile(f *testing.F) {
	for _, file := range corpusFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Base(file), data)
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		wf, err := Compile(name, data, Options{})
		if err == nil && wf == nil {
			t.Fatal("no workflow and no error")
		}
		if err == nil {
			if _, err := Marshal(wf); err != nil {
				t.Fatalf("marshal a compiled workflow: %v", err)
			}
		}
	})
}

// BenchmarkCompileCorpus is kubeline compile per file, as the command does
// it minus reading the file and process start: unpack, parse, load and
// validate, compile, and render the workflow as YAML; one corpus file per
// iteration, round robin. cpu-ns/op is the process's CPU time per file
// (GC included), which other load on the machine barely changes; run it
// with -benchtime a multiple of the corpus size (153 files: 306x) so that
// every run compiles the same files.
func BenchmarkCompileCorpus(b *testing.B) {
	type input struct {
		name string
		data []byte
	}
	var inputs []input
	for _, file := range corpusFiles(b) {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, input{filepath.Base(file), data})
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op") }()
	for i := 0; i < b.N; i++ {
		in := inputs[i%len(inputs)]
		wf, err := Compile(in.name, in.data, Options{})
		if err != nil && wf != nil {
			b.Fatal("workflow and error")
		}
		if err == nil {
			if _, err := Marshal(wf); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// cpuTime is the CPU time the process has used (user and system, all
// threads): per op it is what a compile costs whatever else runs on the
// machine, where ns/op (wall time) also counts waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
