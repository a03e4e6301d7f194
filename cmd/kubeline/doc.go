// Command kubeline is the one binary: it wires compilers, engines, stores and
// artifact drivers together. Each subcommand fills an options struct, validates
// it and runs, returning an exit code, so commands are testable without exec.
package main
