package apiserver

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/compiler/ide"
	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/store"
)

// An IDE's life once admitted: Starting while its workflow starts and until
// its URL answers, then Running; Stopping once asked to stop; Stopped when
// its workflow ended after that, Error when it ended on its own or could
// not start. Each status is recorded in order (store.SetIDEStatus); the
// end gives its GPUs back (Admit).

// ideOf is the IDE name of an admission key, and whether it is one.
func ideOf(key string) (string, bool) { return strings.CutPrefix(key, "ide/") }

// probeEvery is how often a starting IDE's URL is asked.
const probeEvery = 100 * time.Millisecond

// startIDE submits an admitted IDE's workflow and follows it.
func (s *Server) startIDE(ctx context.Context, name string) error {
	i, err := s.store.GetIDE(ctx, name)
	if err != nil {
		return err
	}
	if err := s.store.SetIDEStatus(ctx, name, store.StatusStarting, ""); err != nil {
		return err
	}
	fail := func(err error) error {
		s.ideEnded(name, store.StatusError, err.Error())
		s.admitLater()
		return nil
	}
	var wf wfv1.Workflow
	if err := json.Unmarshal([]byte(i.Spec), &wf); err != nil {
		return fail(fmt.Errorf("the stored workflow cannot be read: %w", err))
	}
	port, url := cmp.Or(s.ideOpts.Port, ide.DefaultPort), ""
	if s.ideOpts.Address == nil {
		if port, err = freePort(); err != nil {
			return fail(err)
		}
		url = "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	}
	ide.WithArguments(&wf, port, i.Token)
	wf.GenerateName = ""
	wf.Name = "ide-" + name + "-" + newSecret()[:5]
	workflow, err := s.engine.Submit(s.ctx, &wf)
	if err != nil {
		return fail(err)
	}
	if err := s.store.SetIDEStarted(ctx, name, workflow, url); err != nil {
		return err
	}
	ch, err := s.engine.Watch(s.ctx, workflow)
	if err != nil {
		_ = s.engine.Stop(s.ctx, workflow)
		return fail(err)
	}
	s.running.Store(store.IDEAdmission(name), workflow) // StopRuns stops it (follow.go)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.followIDE(name, workflow, port, url, ch)
	}()
	return nil
}

// followIDE records an IDE's workflow until it ends: Running once its
// notebook step runs and its URL answers, Stopped or Error at the end.
func (s *Server) followIDE(name, workflow string, port int, url string, ch <-chan *wfv1.Workflow) {
	defer s.running.Delete(store.IDEAdmission(name))
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	ready := make(chan string, 1)
	probing := false
	for {
		select {
		case w, ok := <-ch:
			if !ok {
				return // the server stops; the next one ends it (RecoverIDEs)
			}
			if w.Status.Phase.Completed() {
				s.ideFinished(name, w)
				return
			}
			if !probing && stepRunning(w) {
				probing = true
				go s.probeIDE(ctx, workflow, w, port, url, ready)
			}
		case u := <-ready:
			_ = s.retryStore("IDE "+name, func() error {
				cur, err := s.store.GetIDE(s.ctx, name)
				if err != nil || cur.Status != store.StatusStarting {
					return err // stopping meanwhile: it never becomes Running
				}
				if err := s.store.SetIDEStarted(s.ctx, name, workflow, u); err != nil {
					return err
				}
				return s.store.SetIDEStatus(s.ctx, name, store.StatusRunning, "")
			})
		case <-s.ctx.Done():
			return
		}
	}
}

// stepRunning reports whether the notebook step's process or pod runs.
func stepRunning(w *wfv1.Workflow) bool {
	for _, n := range w.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && n.Phase == wfv1.NodeRunning {
			return true
		}
	}
	return false
}

// probeIDE finds where the notebook listens and asks its URL until it
// answers (any HTTP answer: the notebook's server is up), then sends the
// URL on ready.
func (s *Server) probeIDE(ctx context.Context, workflow string, w *wfv1.Workflow, port int, url string, ready chan<- string) {
	client := &http.Client{Timeout: time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for {
		if url == "" && s.ideOpts.Address != nil {
			if host, err := s.ideOpts.Address(ctx, workflow, w); err == nil && host != "" {
				url = "http://" + joinHostPort(host, port) + "/"
			}
		}
		if url != "" {
			if req, err := http.NewRequestWithContext(ctx, "GET", url, nil); err == nil {
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
					ready <- s.exposed(ctx, workflow, w, port, url)
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(probeEvery):
		}
	}
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// ideFinished records how an IDE's workflow ended: Stopped after a stop,
// else Error (a notebook ends only when stopped), and admits what its GPUs
// let start.
func (s *Server) ideFinished(name string, w *wfv1.Workflow) {
	status, msg := store.StatusError, w.Status.Message
	if msg == "" {
		msg = engine.FailedSteps(w)
	}
	cur, err := s.store.GetIDE(s.ctx, name)
	switch {
	case err == nil && cur.Status == store.StatusStopping, msg == "stopped":
		status, msg = store.StatusStopped, "stopped"
	case msg == "":
		msg = "the notebook ended on its own (phase " + string(w.Status.Phase) + ")"
	default:
		msg = "the notebook ended on its own: " + msg
	}
	s.ideEnded(name, status, msg)
	_ = s.Admit(s.ctx)
}

// ideEnded records an IDE's end whatever it takes (retryStore).
func (s *Server) ideEnded(name, status, msg string) {
	_ = s.retryStore("IDE "+name, func() error { return s.store.SetIDEStatus(s.ctx, name, status, msg) })
}

// stopIDE stops an IDE: a queued one at once (it never started, its GPUs
// were never held), a starting or running one through the engine.
func (s *Server) stopIDE(ctx context.Context, name string) error {
	s.admitMu.Lock() // an admission under way starts it first
	i, err := s.store.GetIDE(ctx, name)
	if err != nil {
		s.admitMu.Unlock()
		return err
	}
	switch i.Status {
	case store.StatusQueued:
		err := s.store.SetIDEStatus(ctx, name, store.StatusStopped, "stopped before it started")
		s.admitMu.Unlock()
		if err != nil {
			return err
		}
		return s.Admit(s.ctx)
	case store.StatusStopping:
		s.admitMu.Unlock()
		return nil
	case store.StatusStopped, store.StatusError:
		s.admitMu.Unlock()
		return &apiError{http.StatusConflict, "IDE " + name + " is " + i.Status + ": it is not running"}
	}
	s.admitMu.Unlock()
	if err := s.store.SetIDEStatus(ctx, name, store.StatusStopping, ""); err != nil {
		return err
	}
	return s.engine.Stop(ctx, i.Workflow)
}

// RecoverIDEs ends the IDEs a previous server left starting, running or
// stopping (its embedded engine's processes died with it; a workflow on
// Argo is stopped): Error, saying why. Queued IDEs stay queued.
func (s *Server) RecoverIDEs(ctx context.Context) error {
	all, err := s.store.ListIDEs(ctx, nil)
	if err != nil {
		return err
	}
	for _, i := range all {
		if i.Status == store.StatusQueued || store.FinalIDEStatus(i.Status) {
			continue
		}
		if i.Workflow != "" && s.ideOpts.Address != nil {
			_ = s.engine.Stop(ctx, i.Workflow) // best effort: it may be gone
		}
		status := store.StatusError
		if i.Status == store.StatusStopping {
			status = store.StatusStopped
		}
		if err := s.store.SetIDEStatus(ctx, i.Name, status, "the server that ran it stopped"); err != nil {
			return fmt.Errorf("recover IDE %s: %w", i.Name, err)
		}
	}
	return nil
}

// exposed is the URL an answering IDE reports: its Service's when the
// engine makes one (the pod's address changes with each pod), else url.
func (s *Server) exposed(ctx context.Context, workflow string, w *wfv1.Workflow, port int, url string) string {
	if s.ideOpts.Expose == nil {
		return url
	}
	name := w.Labels[ide.LabelIDE]
	got, err := s.ideOpts.Expose(ctx, workflow, w, "ide-"+name, map[string]string{ide.LabelIDE: name}, port)
	if err != nil {
		s.tel.log.Warn("IDE: no Service in front of its pod; its pod's address is its URL", "ide", name, "error", err.Error())
		return url
	}
	return got
}
