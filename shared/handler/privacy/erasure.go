package privacy

import (
	"crypto/rand"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
	"github.com/sellchat/sellchat/shared/platform/trail"
)

// erasureRequest is POST /privacy/erasures's body: exactly one of the two.
type erasureRequest struct {
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// erasureView is an erasure as the routes show it: its progress and, once done,
// its report. It never holds the visitor's identifier, only its keyed hash.
type erasureView struct {
	ID             string    `json:"id"`
	State          string    `json:"state"`
	IdentifierKind string    `json:"identifierKind"`
	IdentifierHash string    `json:"identifierHash"`
	RequestedBy    string    `json:"requestedBy"`
	RequestedAt    time.Time `json:"requestedAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	FinishedAt     time.Time `json:"finishedAt,omitzero"`
	Attempts       int       `json:"attempts"`
	Error          string    `json:"error,omitempty"`
	// TombstoneUntil is when the ingest stops refusing the visitor's chats.
	TombstoneUntil time.Time `json:"tombstoneUntil"`
	Report         report    `json:"report"`
}

// report counts what the erasure deleted so far, and lists (once done) the Sell
// records it kept.
type report struct {
	ChatsDeleted              int `json:"chatsDeleted"`
	EntriesDeleted            int `json:"entriesDeleted"`
	NotesDeleted              int `json:"notesDeleted"`
	IdempotencyRecordsCleared int `json:"idempotencyRecordsCleared"`
	// Records are the Sell records whose feeds showed the erased chats.
	Records []string `json:"records"`
	// SellRecords are the leads and contacts matching the visitor, listed when the
	// erasure is done and never deleted: they are the company's CRM records.
	SellRecords []privacystore.SellRecord `json:"sellRecords,omitempty"`
}

func viewOf(j privacystore.Job) erasureView {
	v := erasureView{ID: j.ID, State: j.State, IdentifierKind: j.Kind, IdentifierHash: j.Hash, RequestedBy: j.RequestedBy,
		RequestedAt: j.RequestedAt, UpdatedAt: j.UpdatedAt, FinishedAt: j.FinishedAt, Attempts: j.Attempts, Error: j.Error,
		TombstoneUntil: j.RequestedAt.Add(privacystore.TombstoneWindow),
		Report: report{ChatsDeleted: j.ChatsDeleted, EntriesDeleted: j.EntriesDeleted, NotesDeleted: j.NotesDeleted,
			IdempotencyRecordsCleared: j.LeadRecords, Records: append([]string{}, j.Records...)}}
	if j.Finished() {
		v.Report.SellRecords = append([]privacystore.SellRecord{}, j.SellRecords...)
	}
	return v
}

// startErasure answers POST /privacy/erasures: 202 with the erasure, a new one or
// the identifier's unfinished one (asking twice starts one erasure).
func (h *handler) startErasure(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, _ := auth.From(ctx)
	var req erasureRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	sub, err := h.subject(req.Email, req.Phone)
	if err != nil {
		return err
	}
	job, created, err := h.privacy.Start(ctx, id.Account, rand.Text(), sub, id.UserID)
	if err != nil {
		return err
	}
	if created {
		trail.Record(r, h.deps.Store, audit.ErasureStart, job.ID, map[string]audit.Change{
			"identifierKind": {To: job.Kind}, "identifierHash": {To: job.Hash}})
		httpx.LoggerFrom(ctx).Info("erasure started", "erasure", job.ID, "by", id.UserID)
	}
	w.Header().Set("Location", "/privacy/erasures/"+job.ID)
	httpx.WriteJSON(w, http.StatusAccepted, viewOf(job))
	return nil
}

// jobID is the shape of the ids startErasure hands out (rand.Text), give or take.
var jobID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// erasure answers GET /privacy/erasures/{id}: the caller's account's erasure only.
func (h *handler) erasure(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, _ := auth.From(ctx)
	jid := r.PathValue("id")
	if !jobID.MatchString(jid) {
		return notFound
	}
	job, err := h.privacy.Job(ctx, id.Account, jid)
	if errors.Is(err, privacystore.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, viewOf(job))
	return nil
}
