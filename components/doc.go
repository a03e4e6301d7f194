// Package components holds kubeline's reusable KFP components (the
// directory's name is the architecture's: components/): KFP v2 component
// YAML files, each a container component whose command is `kubeline step
// ...` in kubeline's image, written by components.py with the kfp SDK. The
// binary embeds them for `kubeline init`, which copies them into every
// project it makes. It imports nothing of kubeline.
package components
