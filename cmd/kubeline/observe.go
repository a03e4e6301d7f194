package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/spf13/pflag"
)

// clusterFlags are how `kubeline server` runs as a cluster service: its
// structured logs (--log-format json|text, --log-level) and the kubeline
// image (--image) whose init container its compiled workflows use, which
// the Helm chart sets to the server's own image.
type clusterFlags struct {
	logFormat, logLevel, image string
	// engine: the embedded one, or Argo Workflows on a cluster.
	engine engineFlags
}

func (c *clusterFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.logFormat, "log-format", "json", "server logs: `json` or text (log/slog), on stderr")
	fs.StringVar(&c.logLevel, "log-level", "info", "least level logged: debug, info, warn or error")
	fs.StringVar(&c.image, "image", "", "kubeline `IMAGE` of the init container of compiled workflows (default ghcr.io/kubeline/kubeline:latest)")
	c.engine.register(fs)
	fs.StringVar(&c.engine.python, "python-executor", "", "how KFP lightweight Python components run: command (as written: pip installs kfp), "+
		"builtin (kubeline's KFP executor, no pip: for clusters without PyPI), venv or auto (default: auto on the embedded engine, command in pods)")
}

// logger returns the slog logger the flags ask for, writing to w.
func (c *clusterFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", c.logFormat)
}

type clusterKey struct{}

// withCluster hands the cluster settings and logger to serveWith through
// ctx, which keeps serveWith's signature for its many callers.
func withCluster(ctx context.Context, c clusterFlags, log *slog.Logger) context.Context {
	return context.WithValue(ctx, clusterKey{}, clusterSettings{clusterFlags: c, log: log})
}

type clusterSettings struct {
	clusterFlags
	log *slog.Logger
}

// clusterOf returns the settings of withCluster; without them no image is
// set and nothing is logged.
func clusterOf(ctx context.Context) clusterSettings {
	c, ok := ctx.Value(clusterKey{}).(clusterSettings)
	if !ok || c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// redactDSN hides the password of a PostgreSQL URL (user:password@ or
// ?password=), for logs.
func redactDSN(dsn string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
