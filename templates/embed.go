package templates

import "embed"

// FS holds the templates, one directory each.
//
//go:embed training hpo deployment python-components
var FS embed.FS

// Names are the templates, the first the default.
var Names = []string{"training", "hpo", "deployment", "python-components"}
