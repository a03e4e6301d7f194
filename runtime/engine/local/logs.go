package local

import (
	"context"
	"os"
	"path/filepath"

	"github.com/kubeline/kubeline/runtime/artifact"
)

// archiveLog stores a finished step's log in the artifact store where
// Argo's archiveLogs puts it under kubeline's key format
// (kubeline/WORKFLOW/POD/main.log), so the Pipelines UI finds it when there
// is no pod to ask. Failing to store it fails nothing: the step's outcome
// stands, and the log stays in the run's directory.
func (p *pod) archiveLog(ctx context.Context) {
	if !p.r.e.opts.ArchiveLogs {
		return
	}
	path := filepath.Join(p.dir, "log")
	if _, err := os.Stat(path); err != nil {
		return
	}
	key := artifact.LogKey(p.r.wf.Name, p.name)
	if err := p.r.e.opts.Store.Upload(context.WithoutCancel(ctx), key, path); err != nil {
		p.r.logf("%s: archive log to %s: %v", p.display, key, err)
	}
}
