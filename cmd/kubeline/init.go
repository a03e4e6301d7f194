package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeline/kubeline/components"
	"github.com/kubeline/kubeline/templates"
)

// newInitCmd is `kubeline init NAME [--template T]`: a project directory
// from one of templates/, with kubeline's components library.
func newInitCmd(s streams) *cobra.Command {
	var tmpl string
	c := &cobra.Command{
		Use:   "init NAME [--template T]",
		Short: "make a project directory from a template: " + strings.Join(templates.Names, ", "),
		Long: `Init makes the directory NAME (it must not exist, or be empty) from a template, with kubeline's
reusable components in NAME/components/. Each template's README.md says what it holds and lists the
commands that run it as written on this machine:

  training           a training pipeline with dataset and model versions
  hpo                a hyperparameter experiment whose trials run a training pipeline
  deployment         train, compare with the deployed model, gate on a metric, publish, and
                     serve the model with a transformer
  python-components  a pipeline of Python components for the kfp SDK`,
		Args: exactArgs("NAME"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if !slices.Contains(templates.Names, tmpl) {
				return usagef("--template %q: want %s", tmpl, orList(templates.Names))
			}
			files, err := initProject(args[0], tmpl)
			if err != nil {
				return reportErr(s, "kubeline init", err)
			}
			fmt.Fprintf(s.out, "project %s from template %s: %s\nnext: cd %s and run the commands of README.md\n", args[0], tmpl, strings.Join(files, ", "), args[0])
			return nil
		},
	}
	c.Flags().StringVarP(&tmpl, "template", "t", templates.Names[0], "the `TEMPLATE`: "+strings.Join(templates.Names, ", "))
	_ = c.RegisterFlagCompletionFunc("template", cobra.FixedCompletions(templates.Names, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// initProject writes template tmpl and the components into dir and returns
// the files written, relative to dir. dir must not exist or be empty;
// nothing is left behind when a write fails.
func initProject(dir, tmpl string) (files []string, err error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s exists and is not empty: init makes a new project", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	made := !exists(dir)
	defer func() {
		if err != nil && made {
			os.RemoveAll(dir)
		}
	}()
	sub, err := fs.Sub(templates.FS, tmpl)
	if err != nil {
		return nil, err
	}
	sources := []struct {
		fsys fs.FS
		into string
	}{{sub, "."}, {components.FS, "components"}}
	for _, src := range sources {
		err := fs.WalkDir(src.fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel := path.Join(src.into, p)
			files = append(files, rel)
			return copyEmbedded(src.fsys, p, filepath.Join(dir, filepath.FromSlash(rel)))
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// copyEmbedded writes one embedded file; scripts stay executable.
func copyEmbedded(fsys fs.FS, name, to string) error {
	in, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if strings.HasSuffix(name, ".sh") {
		mode = 0o755
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
