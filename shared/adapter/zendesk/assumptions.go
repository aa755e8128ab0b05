package zendesk

import (
	"net/http"
	"strconv"
	"time"
)

// This file is the single place for what we assume about Zendesk where its public
// documentation, as far as we could read it, does not settle the matter (the notes in
// shared/reference/zendesk-surface.md and chat-and-zendesk.md say what was seen). The
// client and the sandbox (package zendesktest) both read these values, so if the live
// API turns out to differ the fix starts here, and the sandbox keeps telling the truth
// about our assumptions. Confirmed contracts live next to the code that uses them, each
// with the page it was read on.

// --- OAuth ---------------------------------------------------------------------------

// The Chat API's OAuth endpoints for accounts integrated with Support. Doubt: Zendesk's
// own tutorial ("Generating a REST API token for integrated Chat accounts",
// https://support.zendesk.com/hc/en-us/articles/4408828740762) was only visible up to
// its opening; the URLs come from public clients that follow it (Airbyte's
// ZendeskChatOAuthFlow, an omniauth strategy, a vendor's setup guide), which all use
// www.zopim.com with the Support subdomain as a subdomain= parameter of the authorize
// URL, client credentials in the token request's body, and scopes "read", "write",
// "chat".
const (
	ChatOAuthBaseURL       = "https://www.zopim.com"
	ChatAuthorizePath      = "/oauth2/authorizations/new"
	ChatTokenPath          = "/oauth2/token"
	ChatSubdomainParameter = "subdomain"
)

// SupportTokenRequestsMayBeForms records that POST /oauth/tokens accepts an
// application/x-www-form-urlencoded body with client_id and client_secret in it, which
// is what golang.org/x/oauth2 sends. Doubt: the reference page
// (https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/) says
// the parameters "must be formatted as JSON"; public clients post forms and get tokens.
// The sandbox accepts both.
const SupportTokenRequestsMayBeForms = true

// OAuth token-endpoint errors are RFC 6749 JSON ({"error":"invalid_grant",
// "error_description":…}, 400; 401 invalid_client). Doubt: unconfirmed for both hosts;
// it is the shape golang.org/x/oauth2 parses into *oauth2.RetrieveError.
const TokenErrorStatus = http.StatusBadRequest

// Refresh tokens rotate: a refresh returns a new refresh token and the old pair stops
// working. Confirmed for Support ("invalidating the previous access and refresh tokens",
// grant_type_tokens page above); assumed for Chat. Assuming it forces callers to persist
// every refreshed token, which is right either way.
const RefreshTokensRotate = true

// DefaultTokenLifetime is how long the sandbox's access tokens live when the token
// request names no expires_in. Doubt: Zendesk lets a Support client ask for expires_in
// between 300 and 172800 seconds (grant_type_tokens page); the default is not stated,
// nor whether Chat tokens expire at all.
const DefaultTokenLifetime = 2 * time.Hour

// Bounds of expires_in on a Support token request (grant_type_tokens page; read from a
// vendor's copy of it, hence listed here).
const (
	MinTokenLifetime = 300 * time.Second
	MaxTokenLifetime = 172800 * time.Second
)

// SupportAndChatTokensAreSeparate records that a Support token cannot call the Chat API
// and a Chat token cannot call the Support API. Half confirmed: Zendesk staff wrote that
// "credentials for Support API resources … cannot authenticate Chat API requests"
// (https://support.zendesk.com/hc/en-us/community/posts/4417994757786); the other half
// is assumed. The sandbox answers 401 to a token of the other family.
const SupportAndChatTokensAreSeparate = true

// --- errors and rate limits ------------------------------------------------------------

// Error bodies are {"error": code, "description": text}, with "error" sometimes an
// object {"title","message"}; a bad token is 401 {"error":"invalid_token",
// "error_description":…}. Doubt: recalled from Zendesk's Support API and seen in public
// clients; the Chat API on the Support host is assumed to answer alike. The client reads
// all of these forms and never shows the text to users.
const (
	CodeInvalidToken = "invalid_token"
	CodeNotFound     = "RecordNotFound"
	CodeForbidden    = "Forbidden"
	RateLimitedText  = "Number of allowed API requests per minute exceeded"
)

// Rate limits. Confirmed: over the limit Zendesk answers 429 with a Retry-After header
// "that tells you how many seconds to wait"
// (https://developer.zendesk.com/api-reference/introduction/rate-limits); a captured 429
// had a text/plain body "Number of allowed API requests per minute exceeded"
// (https://support.zendesk.com/hc/en-us/community/posts/4600766234138), so the client
// must not need JSON there. Doubt: the Chat API's limit; a vendor's guide gives 200 a
// minute on all plans, Support's Team plan has the same, and we use it for every call
// but the export. Support's incremental exports allow 10 a minute
// (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/),
// which we assume for the chat export too. Zendesk counts per account; the sandbox
// counts per token, which is the same for sellchat (one token per account and product).
const (
	RateLimitPerMinute       = 200
	ExportRateLimitPerMinute = 10
)

// --- the chat export -------------------------------------------------------------------

// A start_time younger than ExportMinAge is refused. Confirmed: "The start_time value
// must be more than five minutes in the past otherwise the export request will be
// rejected" (https://developer.zendesk.com/api-reference/live-chat/chat-api/
// incremental_export/). Doubt: how it is refused. We assume the answer of Support's
// incremental exports, seen in several public clients: 422 {"error":"InvalidValue",
// "description":"Too recent start_time. Use a start_time older than 5 minutes"}. The
// client maps a 400 or 422 of the export that names start_time to ErrStartTimeTooRecent.
const (
	TooRecentStatus      = http.StatusUnprocessableEntity
	TooRecentCode        = "InvalidValue"
	TooRecentDescription = "Too recent start_time. Use a start_time older than 5 minutes"
)

// Export paging. Confirmed: items come ordered by update timestamp, a chat updated again
// comes again, limit defaults to and tops out at 1000, and fields=chats(*) returns whole
// chats (page above); a page is {chats, count, end_time, end_id, next_page} (Airbyte's
// fixtures). Doubt: we assume start_time is inclusive, that start_id continues after the
// chat of that id among chats updated in the end_time second, that next_page is
// start_time=end_time&start_id=end_id with the same fields and limit and is present on
// every page (an empty page echoes the request), and that a next_page younger than
// ExportMinAge is refused like any start_time. A short page (count < limit) means "no
// more for now".
const ExportNextPageAlways = true

// Chat timestamps are RFC 3339 strings with second precision ("2021-04-27T15:09:17Z",
// as in Zendesk's chat example and Airbyte's fixtures). Doubt: some exports are said to
// carry epoch numbers; the client reads both, the sandbox writes strings.
const ChatTimestampLayout = time.RFC3339

// --- the Chat account and its owner ----------------------------------------------------

// Chat plan names as GET /api/v2/chat/account reports them in plan.name, lowest first.
// Doubt: the plan object's fields are documented (Singer's schema) but not its values;
// Airbyte's fixture writes "Enterprise", so the client compares without case.
var ChatPlans = []string{"lite", "team", "professional", "enterprise"}

// ChatPhaseExposed is false: neither the Chat account JSON (account_key, billing,
// create_date, plan, status: https://developer.zendesk.com/api-reference/live-chat/
// chat-api/accounts/) nor anything else we read tells the Chat phase. The sandbox does
// not invent one; the install check must learn it another way (asked of the admin).
const ChatPhaseExposed = false

// The account owner. Support's user JSON has no owner flag (the users reference lists
// role, role_type, custom_role_id and no owner:
// https://developer.zendesk.com/api-reference/ticketing/users/users/), and no Support
// account endpoint we could read names one. The Chat Agents API documents a read-only,
// deprecated roles object {"owner","administrator"}, "owner: owner of the account"
// (https://developer.zendesk.com/api-reference/live-chat/chat-api/agents/), which is what
// the Chat phase-4 install rule needs. Doubts: that GET /api/v2/chat/agents/me exists on
// the Support host as /api/v2/agents/me does on the old one; that since_id is inclusive
// and limit tops out at ChatAgentsPageLimit; that in integrated accounts a Chat agent's
// id is the agent's Support user id (the chat JSON's agent_ids and nick "agent:<id>" are
// read that way).
const (
	ChatOwnerFromAgentRoles = true
	ChatAgentIDIsUserID     = true
	ChatAgentsPageLimit     = 100
)

// Who may call what. Doubt: Zendesk documents Chat account and agents as "Allowed for
// Admin"; for the rest we assume: the chat export, installations and the app's public
// key need an admin (the Chat account owner counts as one); an end user may read only
// their own user; agents read any user.
const AdminOnlyAppsAndExport = true

// --- apps ------------------------------------------------------------------------------

// The app's public key is served as a PKIX PEM block ("BEGIN PUBLIC KEY"). Doubt: the
// endpoint is named by public code and the reference (GET
// /api/v2/apps/{app_id}/public_key.pem), the block type is not; the client also accepts
// PKCS#1 ("BEGIN RSA PUBLIC KEY") and refuses any key that is not RSA.
const PublicKeyPEMType = "PUBLIC KEY"

// OneInstallationPerApp records that GET /api/v2/apps/installations.json lists one
// installation per installed app, whose id is the one the app's signed tokens name,
// whichever product (Support, Chat, Sell) the iframe runs in. Doubt: a multi-product app
// may have one installation per product; the installer should store the id it is shown
// in the token it verifies first.
const OneInstallationPerApp = true

// --- signed app tokens (ZAF signed URLs) -----------------------------------------------

// The apps framework's signed-URL token is RS256 with the app's key (confirmed,
// https://developer.zendesk.com/documentation/apps/build-an-app/building-a-server-side-app/part-5-secure-the-app/).
// Its claims are known from a third-party verifier that cites the claims table; the
// exact values below are assumptions to check against one real token:
//   - iss is the account host, "<subdomain>.zendesk.com" (AppTokenIssuer);
//   - aud is the installation's API URL (AppTokenAudience);
//   - sub is the viewing user's id as a decimal string;
//   - iat = nbf, and exp five minutes later (AppTokenLifetime);
//   - qsh hashes the request in a way we do not know: a verifier must not check it, the
//     sandbox fills in an opaque hash;
//   - cnf.jku is the app's public_key.pem URL (AppTokenKeyURL): never fetch a key from a
//     URL a token names; use the configured app id;
//   - context holds product and location, e.g. "chat" / "chat_sidebar".
const AppTokenLifetime = 5 * time.Minute

// AppTokenIssuer is the iss of an account's signed app tokens.
func AppTokenIssuer(subdomain string) string { return subdomain + ".zendesk.com" }

// AppTokenAudience is the aud of the tokens an installation's iframes receive.
func AppTokenAudience(subdomain string, installationID int64) string {
	return "https://" + subdomain + ".zendesk.com/api/v2/apps/installations/" + strconv.FormatInt(installationID, 10) + ".json"
}

// AppTokenKeyURL is the cnf.jku of an app's tokens.
func AppTokenKeyURL(subdomain string, appID int64) string {
	return "https://" + subdomain + ".zendesk.com/api/v2/apps/" + strconv.FormatInt(appID, 10) + "/public_key.pem"
}

// --- Support webhooks ------------------------------------------------------------------

// WebhookTimestampLayout is how X-Zendesk-Webhook-Signature-Timestamp is written.
// Doubt: the signature recipe is confirmed (https://developer.zendesk.com/documentation/
// webhooks/verifying/: base64(HMACSHA256(TIMESTAMP + BODY))) but the header's format is
// only shown in examples; we assume RFC 3339 in UTC to the second.
const WebhookTimestampLayout = time.RFC3339

// Retries of a failed delivery. Confirmed: Zendesk webhooks "retry failed HTTP
// requests that return certain HTTP response codes" and trip a circuit breaker on
// endpoints that keep failing; a request times out after a few seconds
// (https://developer.zendesk.com/api-reference/webhooks/introduction/, "Webhook
// retries"). Doubt: which codes, how often and after how long; we assume a few
// retries at most, and only after a short Retry-After, so sellchat never counts on
// them: a messaging conversation the conversation log will not give now waits in the
// table for the chat poll (store.TicketWait) and the webhook answers 202. The
// sandbox does not retry at all.

// --- Agent Workspace: chat tickets and the notification webhook -------------------------

// Finding a ticket's chat. On Agent Workspace accounts a chat is a Support ticket and
// the chat object names it in zendesk_ticket_id (the chat reference's example, and
// shared/reference/chat-and-zendesk.md). The Chat API's chat search
// (GET /api/v2/chat/chats/search?q=…, answering {"results":[{"id",…}],"next_url",
// "count"}) is known from a public client that queries it with
// "type:chat AND end_timestamp:[a TO b]" (singer-io/tap-zendesk-chat, streams.py).
// Doubt: that the search index takes zendesk_ticket_id as a field
// (ChatTicketQuery). When it does not, the webhook finds nothing and says "pending":
// the export still brings the chat, only later.
const ChatTicketSearchField = "zendesk_ticket_id"

// ChatTicketQuery is the chat search query for the chats of a ticket.
func ChatTicketQuery(ticketID int64) string {
	return ChatTicketSearchField + ":" + strconv.FormatInt(ticketID, 10)
}

// The webhook's signing secret. Confirmed: the Webhooks API can "retrieve and reset the
// signing secret" (https://developer.zendesk.com/api-reference/webhooks/introduction).
// Doubt: the exact answer; we assume GET /api/v2/webhooks/{id}/signing_secret returns
// {"signing_secret":{"algorithm":"SHA256","secret":"…"}}.
const WebhookSigningSecretPath = "/signing_secret"

// The trigger sellchat creates (Triggers API, POST /api/v2/triggers). Confirmed: a
// webhook connected to a trigger gets the trigger's JSON body, in which placeholders
// such as {{ticket.id}} are rendered (https://support.zendesk.com/hc/en-us/articles/
// 4408839108378). Doubts:
//   - the action is {"field":"notification_webhook","value":[webhook_id, body]};
//   - "status" with operator "value" means "changed to" (fires once per solve);
//   - via_id 29 is the Chat channel, so only chat tickets match;
//   - a webhook meant for triggers subscribes to "conditional_ticket_events".
const (
	TriggerWebhookAction     = "notification_webhook"
	TriggerChangedToOperator = "value"
	ViaChat                  = "29"
	ConditionalTicketEvents  = "conditional_ticket_events"
)

// --- messaging -------------------------------------------------------------------------

// Messaging channels and their via ids. A messaging conversation that reaches an agent
// becomes a Support ticket whose via.channel names the channel; a trigger tells the
// channel by the numeric via_id ("Ticket > Channel",
// https://support.zendesk.com/hc/en-us/articles/4408893545882). Confirmed: the names
// native_messaging, whatsapp, instagram_dm and sunshine_conversations_facebook_messenger
// (the via types reference, https://developer.zendesk.com/documentation/ticketing/
// reference-guides/via-types/, public apps and Zendesk's ZAF typings). Doubt: the
// numbers. The stored copy of the via types page stops before them; they come from
// third-party code (an analytics mapping of ticket_via_id and an app's channel map,
// which agree with each other), so medium confidence. A wrong number means the trigger
// never fires for that channel, and its conversations reach Sell only once the number
// is corrected here. mailgun (76) and Slack Connect (91) are messaging via types too but
// not conversations sellchat logs, so they are known here and left out of
// DefaultMessagingChannels.
var messagingViaIDs = map[string]string{
	"line":             "72",
	"wechat":           "73",
	"whatsapp":         "74",
	"native_messaging": "75",
	"mailgun":          "76",
	"messagebird_sms":  "77",
	"sunshine_conversations_facebook_messenger": "78",
	"telegram":                          "79",
	"twilio_sms":                        "80",
	"viber":                             "81",
	"google_rcs":                        "82",
	"apple_business_chat":               "83",
	"google_business_messages":          "84",
	"kakaotalk":                         "85",
	"instagram_dm":                      "86",
	"sunshine_conversations_api":        "87",
	"sunshine_conversations_twitter_dm": "88",
	"business_messaging_slack_connect":  "91",
}

// Who may read a messaging ticket's parts, and with which scope. Confirmed: the Tickets
// API and the conversation log are "Allowed for Agents" (tickets/tickets and
// tickets/conversation_log reference pages); the identities list refuses tokens scoped
// "users:read" or "users:write" (https://developer.zendesk.com/api-reference/ticketing/
// users/user_identities/), so it needs the broad "read". Doubt: which resource scope the
// conversation log accepts; we assume "tickets:read", like the ticket itself, and ask
// for "read" (SupportScopes), which covers both either way. The sandbox refuses end
// users on tickets and conversation logs, and lets them list only their own identities.
const (
	TicketReadScope          = "tickets:read"
	IdentitiesNeedBroadRead  = true
	ConversationLogReadScope = "tickets:read"
)

// The conversation log's paging. Confirmed: cursor pagination of at most 100 events a
// page, page[size], page[after], page[before] and sort (e.g. sort=-created_at), the
// answer {"events","links":{"next","prev"},"meta":{"after_cursor","before_cursor",
// "has_more"}} (https://developer.zendesk.com/api-reference/ticketing/tickets/
// conversation_log/). Doubts: the default sort (we assume created_at, the documented
// links' sort), the answer to a page[size] above 100 (we assume 400
// InvalidPaginationParameter, as Zendesk's other cursor-paged lists answer; the client
// never asks for more) and whether links.next is null on the last page (the documented
// example has one with has_more false, so the client goes by has_more and after_cursor,
// never by links.next).
const (
	ConversationLogMaxPageSize = 100
	ConversationLogDefaultSort = "created_at"
	CodeInvalidPagination      = "InvalidPaginationParameter"
)

// The conversation log has a rate limit of its own. Confirmed: 100 requests a minute
// per account (300 with the High Volume API add-on), a 429 when it is spent, and the
// header "Zendesk-RateLimit-omnilog-index: total=…; remaining=…; resets=…" (resets in
// seconds; conversation_log page above). Doubt: whether a call also counts against the
// account-wide limit (the page says only that this limit "is different"); the sandbox
// counts it against both, the pessimistic reading. The client returns the 429 as
// *RateLimited for the caller to queue; Retry-After is assumed to come with it, as on
// every other Zendesk 429 (RetryAfter is zero when it does not).
const (
	ConversationLogRateLimitPerMinute = 100
	ConversationLogRateLimitHeader    = "Zendesk-RateLimit-omnilog-index"
)

// Conversation log events. Confirmed: messages are "Messaging::ConversationMessage"
// with author.type user, agent or bot (a bot's zen:support:user_id is -1) and content
// {"type":"text","text"} among others; comments are "Comment" with content
// {"type":"html","body"} and metadata.public false for an internal note, such as the
// "Conversation with …" note Zendesk adds to a messaging ticket (the documented
// example). Doubt: the full list of event types and content types (image, file,
// carousel, form…); the documented message example has no metadata.public at all, so
// nothing may filter messages on it (the sandbox writes public:true on messages).
