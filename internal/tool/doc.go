// Package tool finds, for tests, the external programs `make tools`
// installs with `go install` (versitygw, helm): a test that needs one fails
// — never skips — when it is missing, saying how to install it.
package tool
