// Package console is kubeline's web console: the MLOps pages the Kubeflow
// Pipelines UI does not have (projects, datasets, featuresets, code and
// models with their versions, lineage and usage, the model catalog,
// deployments, GPU pools and the queue, HPO experiments, comparisons, IDEs,
// and the operators' users, groups, pools and images).
//
// It is plain HTML, CSS and JavaScript embedded in the binary (no build
// step, no third-party code): the browser signs in with a kubeline token
// kept in its session storage and reads kubeline's API with it, so every
// page is subject to the API's policy table. Charts are SVG drawn from the
// server's data; the lineage picture is the server's own (kubeline lineage
// -o svg) with its runs and versions made links.
//
// Pages lists every page with the API calls it makes, which the browser
// test holds the pages to and the render benchmark times; Streams the
// change streams the live pages (queue, pools, an HPO experiment, a
// deployment) follow instead of polling (live.js), polling when a stream
// fails. deploy.js is the Deploy form, on the catalog page and prefilled
// on a deployment's edit page.
package console
