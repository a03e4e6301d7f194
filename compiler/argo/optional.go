package argo

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// Platform values named at run time (an optional pipeline input, a task
// output) may arrive empty: an optional input left out is "" (a STRUCT or
// LIST one may be null). KFP's driver then drops the setting; a compiled
// template cannot drop what it declares, so its podSpecPatch does, with
// Argo expressions evaluated when the pod is made: a strategic merge patch
// deletes a list element ("$patch":"delete") or leaves it as it is.

// runtimeInput is the template input a platform value refers to when it is
// known only at run time ({{inputs.parameters.NAME}}).
func runtimeInput(v string) (string, bool) {
	in, ok := strings.CutPrefix(v, "{{inputs.parameters.")
	if !ok {
		return "", false
	}
	in, ok = strings.CutSuffix(in, "}}")
	return in, ok && !strings.ContainsAny(in, "{}")
}

// inputExpr is template input in as an Argo expression.
func inputExpr(in string) string { return "inputs.parameters['" + in + "']" }

// absentExpr is the Argo expression that is true when template input in
// arrives empty.
func absentExpr(in string) string { return inputExpr(in) + " in ['', 'null']" }

// exprString is s as a string literal of an Argo expression. Argo's
// template ends an expression at the first "}}", so none may be in it.
func exprString(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
	return "'" + strings.ReplaceAll(s, "}}", "}' + '}") + "'"
}

// deleteIfAbsent is the end of a patch list element that deletes the
// element from the pod when template input in arrives empty.
func deleteIfAbsent(in string) string {
	return fmt.Sprintf(`{{=%s ? ',"$patch":"delete"' : ''}}`, absentExpr(in))
}

// optionalEntries are the pod's entries whose names arrive at run time, as
// elements of the podSpecPatch's lists: each merges into the entry of the
// template (no change) or deletes it.
type optionalEntries struct {
	volumes, mounts, waitMounts, envs []string
}

// volume records volume vol, mounted at mountPath, of the secret or config
// map named name.
func (o *optionalEntries) volume(name, vol, mountPath string) {
	in, ok := runtimeInput(name)
	if !ok {
		return
	}
	o.volumes = append(o.volumes, `{"name":`+mustJSON(vol)+deleteIfAbsent(in)+`}`)
	o.mounts = append(o.mounts, `{"mountPath":`+mustJSON(mountPath)+deleteIfAbsent(in)+`}`)
	// Argo mirrors the main container's mounts into its wait container
	// under /mainctrfs (addOutputArtifactsVolumes).
	o.waitMounts = append(o.waitMounts, `{"mountPath":`+mustJSON(path.Join(mainCtrFS, mountPath))+deleteIfAbsent(in)+`}`)
}

// mainCtrFS is where Argo's wait container sees the main container's
// volumes (common.ExecutorMainFilesystemDir).
const mainCtrFS = "/mainctrfs"

// waitContainer is the wait container's member of the containers patch;
// "" when it has nothing to change.
func (o *optionalEntries) waitContainer() string {
	if len(o.waitMounts) == 0 {
		return ""
	}
	return `{"name":"wait","volumeMounts":[` + strings.Join(o.waitMounts, ",") + `]}`
}

// env records the main container's variable envVar read from the secret or
// config map named name.
func (o *optionalEntries) env(name, envVar string) {
	if in, ok := runtimeInput(name); ok {
		o.envs = append(o.envs, `{"name":`+mustJSON(envVar)+deleteIfAbsent(in)+`}`)
	}
}

// mainMembers are the members of the main container's patch.
func (o *optionalEntries) mainMembers() []string {
	var m []string
	if len(o.envs) > 0 {
		m = append(m, `"env":[`+strings.Join(o.envs, ",")+`]`)
	}
	if len(o.mounts) > 0 {
		m = append(m, `"volumeMounts":[`+strings.Join(o.mounts, ",")+`]`)
	}
	return m
}

// mergeMainContainer adds members to the main container of patch (a JSON
// object, or "") and container other (a patch element, or "") to its
// containers: it returns the patch with them, or, when patch has no
// containers, patch and members unchanged for a containers member of their
// own.
func mergeMainContainer(patch string, members []string, other string) (string, []string, error) {
	if patch == "" {
		return "", members, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(patch), &m); err != nil {
		return "", nil, fmt.Errorf("read the template's own patch: %w", err)
	}
	raw, ok := m["containers"]
	if !ok {
		return patch, members, nil
	}
	var cs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cs); err != nil {
		return "", nil, fmt.Errorf("read the template's own patch: containers: %w", err)
	}
	var elems []string
	merged := false
	for _, c := range cs {
		var fields []string
		for _, k := range sortedKeys(c) {
			fields = append(fields, mustJSON(k)+":"+string(c[k]))
		}
		if string(c["name"]) == `"main"` {
			fields, merged = append(fields, members...), true
		}
		elems = append(elems, "{"+strings.Join(fields, ",")+"}")
	}
	if !merged {
		elems = append(elems, `{"name":"main",`+strings.Join(members, ",")+`}`)
	}
	if other != "" {
		// First, as in the pod: a strategic merge orders the list as
		// the patch does.
		elems = append([]string{other}, elems...)
	}
	var out []string
	for _, k := range sortedKeys(m) {
		v := string(m[k])
		if k == "containers" {
			v = "[" + strings.Join(elems, ",") + "]"
		}
		out = append(out, mustJSON(k)+":"+v)
	}
	return "{" + strings.Join(out, ",") + "}", nil, nil
}
