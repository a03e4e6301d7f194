package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// serverNames completes a command's first argument with the names of a
// resource the server lists at path (under key, each item's "name"), so
// `kubeline projects get <TAB>` offers the projects the caller can see.
// Without a server answering it offers nothing.
func (g *globalFlags) serverNames(path, key string) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		g.flags = c.Flags()
		client, err := g.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out map[string]any
		if err := client.call("GET", path, nil, &out); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []cobra.Completion
		items, _ := out[key].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			if n := str(m["name"]); n != "" && strings.HasPrefix(n, toComplete) {
				names = append(names, n)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// nameLists are where the server lists each resource a command argument
// names: the API path and the answer's key.
var nameLists = map[string][2]string{
	"users":       {"/users?page_size=200", "users"},
	"groups":      {"/groups?page_size=200", "groups"},
	"pools":       {"/pools", "pools"},
	"projects":    {"/projects?page_size=200", "projects"},
	"deployments": {"/deployments", "deployments"},
	"ides":        {"/ides", "ides"},
	"monitors":    {"/monitors", "monitors"},
}

// completeNames gives c's first argument the names of resource.
func (g *globalFlags) completeNames(c *cobra.Command, resource string) *cobra.Command {
	l := nameLists[resource]
	c.ValidArgsFunction = g.serverNames(l[0], l[1])
	return c
}
