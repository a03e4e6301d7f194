// Package versioning keeps datasets and models versioned. Before a run,
// Versioner.Resolve turns the version URIs the run names
// (dataset://NAME@v2, model://NAME@latest) into the URIs of the versions'
// content; after a run, Versioner.Record turns its dataset and model outputs
// into the next versions (content-addressed under kubeline/versions/, with an
// index object per version so pods can resolve versions from the artifact
// store alone) and records which versions the run used and produced and its
// metrics. Lineage builds a version's lineage graph from those records.
//
// versioning imports runtime/artifact (the objects), runtime/store (the
// records' types) and runtime/lineage; never the engines or the API server.
// It is split from runtime/artifact so that the in-pod launcher, which needs
// only the objects, links no database driver.
package versioning
