package components

import "embed"

// FS holds the component YAML files (NAME.yaml) and components.py, which
// writes them.
//
//go:embed *.yaml components.py
var FS embed.FS
