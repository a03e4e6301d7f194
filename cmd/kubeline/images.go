package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/kubeline/kubeline/runtime/store"
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
			return code(serverCall(s, g, "kubeline images add", "POST", "/images", body, addOut, func(w *tableWriter, m map[string]any) {
				printImages(w, map[string]any{"images": []any{m}})
			}))
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
			return code(serverCall(s, g, "kubeline images list", "GET", path, nil, listOut, printImages))
		},
	}
	list.Flags().StringVar(&listGroup, "group", "", "the catalog `GROUP`'s specs see (its entries over the standard ones)")
	addOutputFlag(list, &listOut, "table", "json", "yaml")
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "remove an image from your group's catalog (--standard: a standard image)",
		Args:  exactArgs("NAME"),
		RunE: func(_ *cobra.Command, args []string) error {
			grp := rmGroup
			switch {
			case rmStandard:
				grp = "standard"
			case grp == "":
				c, err := g.client()
				var me map[string]any
				if err == nil {
					err = c.call("GET", "/whoami", nil, &me)
				}
				if err != nil {
					return reportErr(s, "kubeline images remove", err)
				}
				gs, _ := me["groups"].([]any)
				if len(gs) == 0 {
					return reportErr(s, "kubeline images remove", fmt.Errorf("you are in no group: name one with --group"))
				}
				grp = str(gs[0])
			}
			return code(serverCall(s, g, "kubeline images remove", "DELETE", "/images/"+url.PathEscape(grp)+"/"+url.PathEscape(args[0]), nil, "table",
				func(w *tableWriter, _ map[string]any) { w.line("image %s removed from %s", args[0], grp) }))
		},
	}
	remove.Flags().StringVar(&rmGroup, "group", "", "the `GROUP` whose entry to remove (default: your first group)")
	remove.Flags().BoolVar(&rmStandard, "standard", false, "remove a standard image (operators)")
	return group("images", "the container image catalog: standard images and your groups'",
		g.addTo(add), g.addTo(list), g.addTo(remove))
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

// catalogImages is the image catalog a local compilation resolves
// image://NAME with: the server's (standard images with the caller's first
// group's over them, or group's) when a server is named, else the local
// store's (the default group's). Nil when data names no catalog image.
func catalogImages(ctx context.Context, data []byte, e endpoint, home, group string) (map[string]string, error) {
	if !bytes.Contains(data, []byte("image://")) {
		return nil, nil
	}
	if e.server == "" {
		st, err := openStore(ctx, home, "")
		if err != nil {
			return nil, fmt.Errorf("read the image catalog: %w", err)
		}
		defer st.Close()
		cat, err := st.ImageCatalog(ctx, store.DefaultGroup)
		return store.ImageRefs(cat), err
	}
	c := newAPIClient(e)
	if group == "" {
		var me map[string]any
		if err := c.call("GET", "/whoami", nil, &me); err != nil {
			return nil, fmt.Errorf("read the image catalog: %w", err)
		}
		if gs, _ := me["groups"].([]any); len(gs) > 0 {
			group = str(gs[0])
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
