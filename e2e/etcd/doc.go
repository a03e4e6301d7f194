// Command etcd is etcd v3.6's server, as etcd's own main.go builds it.
package main
