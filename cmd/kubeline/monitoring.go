package main

import (
	"bytes"
	"context"
	"log/slog"
	"sync"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/recorder"
	"github.com/kubeline/kubeline/runtime/serving"
	"github.com/kubeline/kubeline/runtime/store"
)

// startMonitoring wires prediction recording and the monitors: the
// endpoint's recorder writes bodies to the artifact store and summaries to
// the store, and tells the monitors; deployments on clusters registered
// before are routed again. stop drains the recorder's queue.
func startMonitoring(ctx context.Context, api *apiserver.Server, deployments *serving.Manager, st *store.Store, objects artifact.Store, log *slog.Logger) (stop func(), err error) {
	rec := recorder.New(st, func(ctx context.Context, key string, data []byte) error {
		_, err := objects.Put(ctx, key, bytes.NewReader(data), int64(len(data)))
		return err
	}, objects.Delete, recorder.Options{Notify: api.NotifyPredictions, Log: log})
	api.WithMonitoring(rec)
	deployments.SetRecorder(rec)
	if err := api.RestoreClusterDeployments(ctx); err != nil {
		return nil, err
	}
	if err := api.SyncRates(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); rec.Run(ctx) }()
	go func() { defer wg.Done(); api.Monitor(ctx) }()
	return func() { cancel(); wg.Wait() }, nil
}
