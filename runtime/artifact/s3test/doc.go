// Package s3test starts a real S3 server for tests: versitygw (Apache-2.0)
// with its posix backend on a temporary directory, listening on 127.0.0.1.
// Tests of every package that talks to S3 use it; a missing versitygw
// binary fails the test (never a skip).
package s3test
