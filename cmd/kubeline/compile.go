package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kubeline/kubeline/compiler"
)

type compileOptions struct {
	file   string
	out    string
	params paramFlag
	image  string
	server string
}

func compileCmd(args []string, stdout, stderr io.Writer) int {
	o := compileOptions{params: paramFlag{}}
	fs := flag.NewFlagSet("compile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "o", "", "write the workflow to `OUT` instead of stdout")
	fs.Var(o.params, "param", "set pipeline parameter `NAME=VALUE` (repeatable)")
	fs.StringVar(&o.image, "image", "", "kubeline `IMAGE` for the launcher init container")
	fs.StringVar(&o.server, "server", "", "kubeline server `URL` an Experiment's pipelineVersionReference is read from")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kubeline compile FILE [-o OUT] [--param NAME=VALUE ...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(interleave(args, fs)); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	o.file = fs.Arg(0)
	if err := o.run(stdout); err != nil {
		fmt.Fprintf(stderr, "kubeline compile %s:\n%v\n", o.file, err)
		return 1
	}
	return 0
}

func (o *compileOptions) run(stdout io.Writer) error {
	data, err := os.ReadFile(o.file)
	if err != nil {
		return err
	}
	wf, err := compiler.Compile(filepath.Base(o.file), data, compiler.Options{Params: o.params, Image: o.image, BaseDir: filepath.Dir(o.file),
		PipelineVersion: pipelineVersionFrom(o.server)})
	if err != nil {
		return err
	}
	out, err := compiler.Marshal(wf)
	if err != nil {
		return err
	}
	if o.out == "" {
		_, err = stdout.Write(out)
		return err
	}
	// Write to a temporary file and rename, so a failure leaves nothing behind.
	tmp, err := os.CreateTemp(filepath.Dir(o.out), ".kubeline-compile-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), o.out)
}

// interleave moves flags after positional arguments to the front, so
// "compile FILE -o OUT" works like "compile -o OUT FILE".
func interleave(args []string, fs *flag.FlagSet) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			name := a[1:]
			if name[0] == '-' {
				name = name[1:]
			}
			if f := fs.Lookup(name); f != nil && i+1 < len(args) {
				if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !isBool {
					flags = append(flags, args[i+1])
					i++
				}
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}
