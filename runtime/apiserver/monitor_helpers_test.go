package apiserver_test

import (
	"bytes"
	"context"
	"sync"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/recorder"
	"github.com/kubeline/kubeline/runtime/serving"
	"github.com/kubeline/kubeline/runtime/store"
)

// monitored wires prediction recording and the monitors into a test
// server as cmd/kubeline does: a real recorder over the store and the
// artifact store, its worker and the monitors' evaluator running until
// the returned stop.
func monitored(ctx context.Context, api *apiserver.Server, deployments *serving.Manager, st *store.Store, objects artifact.Store) (stop func()) {
	rec := recorder.New(st, func(ctx context.Context, key string, data []byte) error {
		_, err := objects.Put(ctx, key, bytes.NewReader(data), int64(len(data)))
		return err
	}, objects.Delete, recorder.Options{Notify: api.NotifyPredictions})
	api.WithMonitoring(rec)
	deployments.SetRecorder(rec)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); rec.Run(ctx) }()
	go func() { defer wg.Done(); api.Monitor(ctx) }()
	return func() { cancel(); wg.Wait() }
}
