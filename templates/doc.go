// Package templates holds the project templates of `kubeline init NAME
// --template T` (the directory's name is the architecture's: templates/):
// one directory per template, each with a README.md whose shell block runs
// as written in the project `kubeline init` makes (examples/newcomer.sh
// runs them in make test). It imports nothing of kubeline.
package templates
