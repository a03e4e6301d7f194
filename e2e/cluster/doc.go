// Package cluster connects e2e-tagged tests to the e2e environment's real
// node (e2e/cluster.sh up; the variables `e2e/cluster.sh env` prints): a
// namespace of their own whose Argo artifact repository is a versitygw
// bucket that pods reach, configured by `kubeline argo-repository`. It
// imports no kubeline engine, so the engines' own tests can use it.
package cluster
