package argo

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"sync"
	"unicode/utf8"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// addShared adds tmpl under a name derived from base unless a template with the
// same content (the same JSON) exists; it returns the name to call.
//
// Encoding every template to compare it costs more than the rest of its
// compilation, so templates are first told apart by a print of some of
// their strings (print): two templates with the same JSON have the same
// print, so a template whose print is new is new. Only templates whose
// print was seen before are encoded — and then the earlier ones with that
// print too, as they were added (without their name).
func (c *compiler) addShared(base string, tmpl wfv1.Template) string {
	// The template is encoded where it would stay (encoding the parameter
	// would copy it to the heap) and taken back if it is not new; the JSON
	// is written into a pooled buffer, and only a new template's key is
	// copied out.
	ts := append(c.wf.Spec.Templates, tmpl)
	last := &ts[len(ts)-1]
	p := templatePrint(last)
	if last.Name == "" && !c.keyed[p] && len(c.unkeyed[p]) == 0 {
		last.Name = c.tmplName(base)
		c.unkeyed[p] = append(c.unkeyed[p], len(ts)-1)
		c.wf.Spec.Templates = ts
		return last.Name
	}
	k := keyBufs.Get().(*keyBuf)
	defer keyBufs.Put(k)
	for _, i := range c.unkeyed[p] {
		name := ts[i].Name
		ts[i].Name = ""
		k.buf.Reset()
		_ = k.enc.Encode(&ts[i])
		ts[i].Name = name
		c.tmplKeys[k.buf.String()] = name
	}
	delete(c.unkeyed, p)
	c.keyed[p] = true
	k.buf.Reset()
	_ = k.enc.Encode(last)
	if name, ok := c.tmplKeys[string(k.buf.Bytes())]; ok {
		*last = wfv1.Template{}
		c.wf.Spec.Templates = ts[:len(ts)-1]
		return name
	}
	last.Name = c.tmplName(base)
	c.tmplKeys[k.buf.String()] = last.Name
	c.wf.Spec.Templates = ts
	return last.Name
}

// printSeed seeds template prints (they are compared within one process).
var printSeed = maphash.MakeSeed()

// templatePrint hashes strings of t that its JSON determines: templates with the
// same JSON have the same print (one with another print is new), while
// templates of different tasks rarely share one. A string that is not
// UTF-8 is left out: JSON writes every invalid byte as U+FFFD.
func templatePrint(t *wfv1.Template) uint64 {
	var h maphash.Hash
	h.SetSeed(printSeed)
	add := func(s string) {
		if utf8.ValidString(s) {
			h.WriteString(s)
		}
		h.WriteByte(0)
	}
	if ct := t.Container; ct != nil {
		add(ct.Image)
		for _, s := range ct.Command {
			add(s)
		}
		for _, s := range ct.Args {
			add(s)
		}
	}
	h.WriteByte(1)
	if t.DAG != nil {
		for _, task := range t.DAG.Tasks {
			add(task.Name)
			add(task.Template)
		}
	}
	h.WriteByte(1)
	for _, prm := range t.Inputs.Parameters {
		add(prm.Name)
	}
	h.WriteByte(1)
	for _, art := range t.Inputs.Artifacts {
		add(art.Name)
	}
	h.WriteByte(1)
	for _, prm := range t.Outputs.Parameters {
		add(prm.Name)
	}
	h.WriteByte(1)
	for _, art := range t.Outputs.Artifacts {
		add(art.Name)
	}
	return h.Sum64()
}

// keyBuf is addShared's JSON buffer and the encoder writing into it.
type keyBuf struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var keyBufs = sync.Pool{New: func() any {
	k := &keyBuf{}
	k.enc = json.NewEncoder(&k.buf)
	return k
}}
