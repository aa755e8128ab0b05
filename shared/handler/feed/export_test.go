package feed

import (
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Limits are the bounds of one answer (see limits), for tests that shrink them.
type Limits struct {
	PageItems, PageBytes, ItemBytes, PreviewMessages, MessagesPage int
}

// DefaultLimits are the bounds New serves with.
var DefaultLimits = Limits{defaultLimits.pageItems, defaultLimits.pageBytes, defaultLimits.itemBytes,
	defaultLimits.previewMessages, defaultLimits.messagesPage}

// NewWithLimits is New with other bounds.
func NewWithLimits(d Deps, l Limits) *httpx.Router {
	return newRouter(d, limits{pageItems: l.PageItems, pageBytes: l.PageBytes, itemBytes: l.ItemBytes,
		previewMessages: l.PreviewMessages, messagesPage: l.MessagesPage})
}

// LambdaBytes is httpx.LambdaBytes, the size of a body inside the Lambda response.
var LambdaBytes = httpx.LambdaBytes
