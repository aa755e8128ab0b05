package transcripts

// The re-stamp job's tests walk a few chats in several pages, so that a fault can
// stop a job between two of them.
func init() { restampPage = 3 }
