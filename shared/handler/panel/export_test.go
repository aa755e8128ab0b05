package panel

import (
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// NewWithMaxBytes is New with another bound on a lookup's answer.
func NewWithMaxBytes(d Deps, max int) *httpx.Router { return newRouter(d, max) }
