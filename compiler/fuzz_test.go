package compiler

import (
	"os"
	"path/filepath"
	"testing"
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
// iteration, round robin.
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
