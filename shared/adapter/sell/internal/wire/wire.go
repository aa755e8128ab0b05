// Package wire holds the JSON shapes of the Sell API and every assumption about
// Sell's behaviour that the public documentation does not settle, so that the
// client (package sell) and the sandbox (package selltest) follow the same
// reading and one edit changes both.
package wire

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Envelope is a single-resource body: requests send {"data": …} and responses
// add {"meta": {"type": …}}.
type Envelope struct {
	Data json.RawMessage `json:"data"`
	Meta *Meta           `json:"meta,omitempty"`
}

// Meta is the meta object of items and collections.
type Meta struct {
	Type       string `json:"type,omitempty"`
	Count      *int   `json:"count,omitempty"`
	TotalCount *int   `json:"total_count,omitempty"`
	HTTPStatus string `json:"http_status,omitempty"`
	Links      *Links `json:"links,omitempty"`
}

// Links are the pagination links of a collection.
type Links struct {
	Self      string `json:"self,omitempty"`
	FirstPage string `json:"first_page,omitempty"`
	PrevPage  string `json:"prev_page,omitempty"`
	NextPage  string `json:"next_page,omitempty"`
}

// Collection is a list response: {"items":[{"data":…,"meta":…}],"meta":…}.
type Collection struct {
	Items []Envelope `json:"items"`
	Meta  Meta       `json:"meta"`
}

// ErrorBody is Sell's error envelope.
type ErrorBody struct {
	Errors []ErrorItem `json:"errors"`
	Meta   ErrorMeta   `json:"meta"`
}

// ErrorItem is one entry of ErrorBody.Errors.
type ErrorItem struct {
	Error ErrorDetail `json:"error"`
	Meta  ErrorMeta   `json:"meta"`
}

// ErrorDetail describes one error. Resource and Field appear on 422s only.
type ErrorDetail struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Details  string `json:"details,omitempty"`
}

// ErrorMeta is the meta of an error body or error item.
type ErrorMeta struct {
	Type       string            `json:"type"`
	HTTPStatus string            `json:"http_status,omitempty"`
	Logref     string            `json:"logref,omitempty"`
	Links      map[string]string `json:"links,omitempty"`
}

// MoreInfoURL is the documentation link Sell puts into error bodies.
const MoreInfoURL = "https://developers.getbase.com/docs/rest/articles/errors"

// HTTPStatusText renders a status the way Sell's meta.http_status does:
// "422 Unprocessable Entity".
func HTTPStatusText(status int) string {
	return fmt.Sprintf("%d %s", status, http.StatusText(status))
}

// SearchRequest is the body of POST /v3/{resource}/search. Several queries
// can be batched in one request; each gets its own entry in the response.
type SearchRequest struct {
	Items []SearchItem `json:"items"`
}

// SearchItem wraps one query.
type SearchItem struct {
	Data SearchQueryRequest `json:"data"`
}

// SearchQueryRequest is one v3 query. Page is 0-based.
type SearchQueryRequest struct {
	Query   SearchQuery `json:"query"`
	Page    *int        `json:"page,omitempty"`
	PerPage *int        `json:"per_page,omitempty"`
}

// SearchQuery holds the projection and filter of a v3 query.
type SearchQuery struct {
	Projection []SearchAttribute `json:"projection,omitempty"`
	Filter     *SearchFilter     `json:"filter,omitempty"`
}

// SearchAttribute names an attribute.
type SearchAttribute struct {
	Name string `json:"name"`
}

// SearchFilter is a node of the filter tree: a leaf under Filter, or a
// composite under And / Or.
type SearchFilter struct {
	Filter *SearchLeaf     `json:"filter,omitempty"`
	And    []*SearchFilter `json:"and,omitempty"`
	Or     []*SearchFilter `json:"or,omitempty"`
}

// SearchLeaf compares one attribute.
type SearchLeaf struct {
	Attribute SearchAttribute `json:"attribute"`
	Parameter SearchParameter `json:"parameter"`
}

// SearchParameter is the comparison of a leaf. Only eq and any are used.
type SearchParameter struct {
	Eq  any   `json:"eq,omitempty"`
	Any []any `json:"any,omitempty"`
}

// SearchResponse is the body answered by a v3 search.
type SearchResponse struct {
	Items []SearchResult `json:"items"`
}

// SearchResult is the answer to one batched query.
type SearchResult struct {
	Successful bool       `json:"successful"`
	Items      []Envelope `json:"items"`
	Meta       Meta       `json:"meta"`
}
