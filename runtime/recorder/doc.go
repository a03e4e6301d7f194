// Package recorder records the predictions of kubeline's inference
// endpoint (runtime/serving): each deployment's requests are sampled at the
// rate its monitors ask for; a sampled request is handed to a bounded
// queue and the request goes on at once — when the queue is full the
// prediction is dropped and counted (and logged, at most every
// DropLogEvery), never waited for. One worker drains the queue in batches
// (what arrives within Gather, up to Batch predictions or BatchBytes),
// encoding each prediction as it takes it (gathering.go: its CPU spread
// over the Gather, into buffers kept from batch to batch):
// the request and response bodies of a batch go to the artifact store as
// one JSON-lines object per deployment (predictions/DEPLOYMENT/TIME.jsonl),
// the summaries (model version, time, latency, status, the instances and
// predictions as rows) to the metadata store as one row per deployment;
// each deployment keeps its newest Keep summaries (trimmed whenever a
// tenth of Keep more arrived), older ones and the payload objects nothing
// refers to any more are deleted. Run writes what is queued before it
// returns (a graceful shutdown loses nothing); a killed process loses what
// was queued and not yet written, and a power loss or an OS crash may also
// lose the last batches written, whole (their store transaction does not
// wait for the disk: runtime/store's AddPredictions).
// After each batch Notify tells the monitors which deployments have new
// predictions.
//
// recorder imports runtime/serving (the Prediction it receives) and
// runtime/store (the summary's type); the stores are interfaces.
package recorder
