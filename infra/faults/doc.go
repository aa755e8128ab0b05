// Package faults holds tests of the whole product under infrastructure faults that
// the shared test engine cannot stage: a DynamoDB Local of their own is frozen
// (SIGSTOP) while requests, the stream poller and the transcripts handler run, then
// thawed to check that nothing was half-written. It has no code of its own.
package faults
