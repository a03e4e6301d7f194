// Package compiler is the front door of compilation: Compile takes the bytes
// of a spec file, detects its kind, and returns the one Argo Workflow that
// kubeline runs for it. It owns the dispatch only; compiler/spec decodes,
// compiler/kfp validates KFP IR, compiler/argo emits the Workflow (and
// resolves image://NAME in the image catalog it is given: Options.Images);
// compiler/hpo, compiler/deploy, compiler/imagebuild and compiler/ide
// compile Experiments, Deployments, ImageBuilds and IDEs.
//
// compiler never imports runtime/.
package compiler
