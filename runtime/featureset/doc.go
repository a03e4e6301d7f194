// Package featureset owns kind: FeatureSet — a named set of features
// (name, type, description) extracted from dataset versions — and the check
// that data matches its declared features before it becomes a featureset
// version: CSV (a header row), JSON lines (one object a line) and Parquet
// (its schema, read with github.com/parquet-go/parquet-go). Every mismatch
// names its column, and all of them are reported at once.
//
// featureset is pure apart from reading the files it checks; it imports
// compiler/spec for YAML with positions and nothing of runtime/.
package featureset
