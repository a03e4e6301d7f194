package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubeline/kubeline/compiler"
)

type compileOptions struct {
	file   string
	out    string
	params paramFlag
	image  string
	server endpoint
}

// newCompileCmd is `kubeline compile FILE`.
func newCompileCmd(s streams, g *globalFlags) *cobra.Command {
	o := compileOptions{params: paramFlag{}}
	c := &cobra.Command{
		Use:   "compile FILE",
		Short: "compile a KFP pipeline, Experiment, Deployment or ImageBuild into one Argo Workflow",
		Long: `Compile reads a KFP v2 IR pipeline (.yaml, .yml, .json, or a .zip/.tar.gz holding pipeline.yaml),
a kind: Experiment, Deployment or ImageBuild, and writes one Argo Workflow as YAML to OUT or stdout.
Images named image://NAME are resolved in the image catalog (the server's, else the local store's).
Every error of the document is reported at once, each with its spec path and line:column.`,
		Args: exactArgs("FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			o.file = args[0]
			e, err := g.optionalServer()
			if err != nil {
				return reportErr(s, "kubeline compile", err)
			}
			o.server = e
			if err := o.run(s.out); err != nil {
				fmt.Fprintf(s.errOut, "kubeline compile %s:\n%v\n", o.file, err)
				return exitCode(exitFailure)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&o.out, "output", "o", "", "write the workflow to `OUT` instead of stdout")
	f.Var(o.params, "param", "set pipeline parameter `NAME=VALUE` (repeatable)")
	f.StringVar(&o.image, "image", "", "kubeline `IMAGE` for the launcher init container")
	return g.addTo(c)
}

func (o *compileOptions) run(stdout io.Writer) error {
	data, err := os.ReadFile(o.file)
	if err != nil {
		return err
	}
	images, err := catalogImages(context.Background(), data, o.server, kubelineHome(), "")
	if err != nil {
		return err
	}
	wf, err := compiler.Compile(filepath.Base(o.file), data, compiler.Options{Params: o.params, Image: o.image, BaseDir: filepath.Dir(o.file),
		PipelineVersion: pipelineVersionFrom(o.server), Images: images})
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
	return writeOutput(o.out, out)
}

// writeOutput writes data to path as a user expects of `-o OUT`: a
// regular file (or a link to one) is replaced whole — a temporary file
// renamed over it, so a failure leaves the old one — keeping its mode and
// owner; anything else (/dev/null, a FIFO, a terminal) is written in place,
// never replaced; a new file gets mode 0644.
func writeOutput(path string, data []byte) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		if fi.IsDir() {
			return fmt.Errorf("write %s: it is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case err == nil:
		// Replace the file the link points to, not the link.
		if path, err = filepath.EvalSymlinks(path); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kubeline-compile-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	mode := fs.FileMode(0o644)
	if fi != nil {
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			_ = tmp.Chown(int(st.Uid), int(st.Gid)) // allowed only to root, as for the file's owner
		}
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
