package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// Completion of resource names: asked of where the command's requests go
// (the configured server, or the local store), with the caller's token, so
// `kubeline projects get <TAB>` offers the projects the caller can see.
// When nothing answers, nothing is offered.

// names lists the names of a resource at path (under key, each item's
// "name") that start with prefix.
func (g *globalFlags) names(c *cobra.Command, fb fallback, path, key, prefix string) []cobra.Completion {
	client, err := g.dialToComplete(c, fb)
	if err != nil {
		return nil
	}
	defer client.Close()
	var out map[string]any
	if err := client.call("GET", path, nil, &out); err != nil {
		return nil
	}
	var names []cobra.Completion
	for _, it := range items(out, key) {
		if n := str(it["name"]); n != "" && strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	return names
}

// nameLists are where each resource a command argument names is listed:
// the API path, the answer's key, and where the requests go when no server
// is configured.
var nameLists = map[string]struct {
	path, key string
	fb        fallback
}{
	"users":       {"/users?page_size=200", "users", toServer},
	"groups":      {"/groups?page_size=200", "groups", toServer},
	"pools":       {"/pools", "pools", toServer},
	"projects":    {"/projects?page_size=200", "projects", toLocalStore},
	"deployments": {"/deployments", "deployments", toServer},
	"clusters":    {"/clusters", "clusters", toLocalStore},
	"datasets":    {"/datasets", "datasets", toLocalStore},
	"models":      {"/models", "models", toLocalStore},
	"ides":        {"/ides", "ides", toServer},
	"monitors":    {"/monitors", "monitors", toServer},
}

// completeNames gives c's first argument the names of resource.
func (g *globalFlags) completeNames(c *cobra.Command, resource string) *cobra.Command {
	l := nameLists[resource]
	c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return g.names(c, l.fb, l.path, l.key, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	return c
}

// completeVersions gives c's first argument the names of kind's datasets
// or models, and with versions NAME@vN.
func (g *globalFlags) completeVersions(c *cobra.Command, kind string, versions bool) *cobra.Command {
	c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return g.versionNames(c, kind, toComplete, versions)
	}
	return c
}

// versionNames completes NAME, or with versions NAME@ and then NAME@vN.
func (g *globalFlags) versionNames(c *cobra.Command, kind, toComplete string, versions bool) ([]cobra.Completion, cobra.ShellCompDirective) {
	name, _, at := strings.Cut(toComplete, "@")
	if !versions || !at {
		names := g.names(c, toLocalStore, kindPath(kind), kind+"s", name)
		if !versions {
			return names, cobra.ShellCompDirectiveNoFileComp
		}
		for i := range names {
			names[i] += "@"
		}
		return names, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	client, err := g.dialToComplete(c, toLocalStore)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer client.Close()
	var out map[string]any
	if client.call("GET", kindPath(kind)+"/"+url.PathEscape(name)+"/versions", nil, &out) != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var refs []cobra.Completion
	for _, v := range items(out, "versions") {
		if ref := name + "@v" + str(v["version"]); strings.HasPrefix(ref, toComplete) {
			refs = append(refs, ref)
		}
	}
	return refs, cobra.ShellCompDirectiveNoFileComp
}

// dialToComplete is dial for a completion; a local store that does not
// exist yet is not made by a TAB press.
func (g *globalFlags) dialToComplete(c *cobra.Command, fb fallback) (*apiClient, error) {
	g.flags = c.Flags()
	e, err := g.endpoint()
	if err != nil {
		return nil, err
	}
	local := (e.from == "the default" && fb == toLocalStore) || e.server == localName
	if !g.flags.Changed("db") && local {
		if _, err := os.Stat(filepath.Join(kubelineHome(), "kubeline.db")); err != nil {
			return nil, err
		}
	}
	return g.dial(context.Background(), fb)
}
