// Package schedule owns the timing of recurring runs: which fire times of a
// trigger (a cron expression or a fixed interval, bounded by start and end
// times) are due between the last fire and now, with and without catch-up,
// and how many of them max_concurrency admits. It follows KFP's
// ScheduledWorkflow semantics: cron expressions have 5 fields, or 6 with
// seconds first as KFP writes them ("0 0 * * * *"); a periodic trigger fires
// one interval after its start time, or after its creation without one.
//
// schedule is pure: no I/O and no clock, every time is passed in, and cron
// fields match in the location of the "now" passed in (UTC for the store's
// times); time zone prefixes (CRON_TZ=), which read the zone database, are
// rejected. It imports no other kubeline package; whoever runs the scheduler
// loop converts store.Trigger into Trigger, creates the runs and records the
// fires.
package schedule
