package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"
)

// imageAdd are the flags of `kubeline images add`.
type imageAdd struct {
	framework, version, group string
	gpu, standard, replace    bool
	command                   []string
}

// newImagesCmd is `kubeline images add|list|remove`: the server's image
// catalog, which specs name as image://NAME.
func newImagesCmd(s streams, g *globalFlags) *cobra.Command {
	var o imageAdd
	var addOut, listOut, listGroup, rmGroup string
	var rmStandard bool
	add := &cobra.Command{
		Use:   "add NAME IMAGE",
		Short: "add an image to your group's catalog (or, for operators, a standard image)",
		Long: `Add names IMAGE as NAME in your group's image catalog (--standard: every group's, operators only).
Pipelines, deployments and IDEs then name it as image://NAME (an IDE's --image NAME too); compiling
resolves it, so the workflow names IMAGE. --command is how the image serves a notebook for an IDE
(one ARG per flag; $(PORT) is its port).`,
		Args: exactArgs("NAME", "IMAGE"),
		RunE: func(_ *cobra.Command, args []string) error {
			body := map[string]any{"name": args[0], "image": args[1], "framework": o.framework, "version": o.version, "gpu": o.gpu,
				"group": o.group, "standard": o.standard, "replace": o.replace, "command": o.command}
			return serverCall(s, g, toLocalStore, "kubeline images add", "POST", "/images", body, addOut, func(w *tableWriter, m map[string]any) {
				printImages(w, map[string]any{"images": []any{m}})
			})
		},
	}
	f := add.Flags()
	f.StringVar(&o.framework, "framework", "", "the `FRAMEWORK` in the image (pytorch, tensorflow, ...)")
	f.StringVar(&o.version, "version", "", "the framework's `VERSION`")
	f.BoolVar(&o.gpu, "gpu", false, "the image is built for GPUs")
	f.StringVar(&o.group, "group", "", "the `GROUP` whose catalog gets it (default: your first group)")
	f.BoolVar(&o.standard, "standard", false, "a standard image, offered to every group (operators)")
	f.BoolVar(&o.replace, "replace", false, "replace the entry of that name")
	f.StringArrayVar(&o.command, "command", nil, "how the image serves a notebook, one `ARG` per flag ($(PORT) is its port)")
	addOutputFlag(add, &addOut, "table", "json", "yaml")
	list := &cobra.Command{
		Use:   "list",
		Short: "list the standard images and your groups' catalogs",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			path := "/images"
			if listGroup != "" {
				path += "?group=" + url.QueryEscape(listGroup)
			}
			return serverCall(s, g, toLocalStore, "kubeline images list", "GET", path, nil, listOut, printImages)
		},
	}
	list.Flags().StringVar(&listGroup, "group", "", "the catalog `GROUP`'s specs see (its entries over the standard ones)")
	addOutputFlag(list, &listOut, "table", "json", "yaml")
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "remove an image from your group's catalog (--standard: a standard image)",
		Args:  exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			return g.do(s, "kubeline images remove", toLocalStore, func(c *apiClient) error {
				grp := rmGroup
				switch {
				case rmStandard:
					grp = "standard"
				case grp == "":
					var err error
					if grp, err = firstGroup(c); err != nil {
						return err
					}
				}
				if err := c.call("DELETE", "/images/"+url.PathEscape(grp)+"/"+url.PathEscape(args[0]), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(s.out, "image %s removed from %s\n", args[0], grp)
				return nil
			})
		},
	}
	remove.Flags().StringVar(&rmGroup, "group", "", "the `GROUP` whose entry to remove (default: your first group)")
	remove.Flags().BoolVar(&rmStandard, "standard", false, "remove a standard image (operators)")
	return group("images", "the container image catalog: standard images and your groups'",
		g.addStoreTo(add), g.addStoreTo(list), g.addStoreTo(remove))
}

func printImages(w *tableWriter, out map[string]any) {
	w.row("NAME", "CATALOG", "IMAGE", "FRAMEWORK", "VERSION", "GPU", "SOURCE")
	is, _ := out["images"].([]any)
	for _, x := range is {
		i, _ := x.(map[string]any)
		cat := str(i["group"])
		if i["standard"] == true {
			cat = "standard"
		}
		w.row(str(i["name"]), cat, str(i["image"]), str(i["framework"]), str(i["version"]), str(i["gpu"]), str(i["source"]))
	}
}

// firstGroup is the caller's first group ("default" on the local store).
func firstGroup(c *apiClient) (string, error) {
	var me map[string]any
	if err := c.call("GET", "/whoami", nil, &me); err != nil {
		return "", err
	}
	gs, _ := me["groups"].([]any)
	if len(gs) == 0 {
		return "", fmt.Errorf("you are in no group: name one with --group")
	}
	return str(gs[0]), nil
}

// catalogImages is the image catalog a local compilation resolves
// image://NAME with, through the API: the server's when one is named
// (standard images with group's entries, or the caller's first group's,
// over them), else the local store's. Nil when data names no catalog
// image.
func catalogImages(ctx context.Context, data []byte, e endpoint, home, group string) (map[string]string, error) {
	if !bytes.Contains(data, []byte("image://")) {
		return nil, nil
	}
	var c *apiClient
	if e.server == "" || e.server == localName {
		var err error
		if c, err = openLocal(ctx, "", storeFlags{}); err != nil {
			return nil, fmt.Errorf("read the image catalog: %w", err)
		}
	} else {
		c = newAPIClient(e)
	}
	defer c.Close()
	if group == "" {
		var err error
		if group, err = firstGroup(c); err != nil {
			return nil, fmt.Errorf("read the image catalog: %w", err)
		}
	}
	var out struct {
		Images []struct{ Name, Image string } `json:"images"`
	}
	if err := c.call("GET", "/images?group="+url.QueryEscape(group), nil, &out); err != nil {
		return nil, fmt.Errorf("read the image catalog: %w", err)
	}
	refs := map[string]string{}
	for _, i := range out.Images {
		refs[i.Name] = i.Image
	}
	return refs, nil
}
