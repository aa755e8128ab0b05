package zendesktest

import (
	"crypto/rsa"
	"encoding/json"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// Seed is the initial data of a sandbox.
type Seed struct {
	// Users of Support. In the Chat API every active agent and admin is also a Chat
	// agent of the same id (zendesk.ChatAgentIDIsUserID).
	Users []zendesk.User
	// OwnerID is the account owner; the Chat agent marked roles.owner.
	OwnerID int64
	// ChatPlan is the Chat account's plan.name.
	ChatPlan string
	// Apps are the installed private apps.
	Apps []App
	// Chats are Chat API chat objects. Each needs an id and an update_timestamp; see
	// AddChat for what the sandbox fills in when chats are added later.
	Chats []json.RawMessage
}

// App is an installed app: its id, its installation, and the key Zendesk signs its
// tokens with (generated when nil; see Options.AppKey).
type App struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	InstallationID int64  `json:"installationId"`
	Product        string `json:"product"`
	// BackendURL is the installation's backend_url setting (the app packages'
	// parameter, infra/apps); Options.BackendURL when empty.
	BackendURL string          `json:"backendUrl,omitempty"`
	Key        *rsa.PrivateKey `json:"-"`
}

// The demo account: the Zendesk side of the Sell sandbox's demo (whose account names
// zendesk_subdomain "acme" and whose users share these names and emails).
const (
	DemoSubdomain = "acme"

	DemoAdaID     int64 = 1 // admin, the account owner, the default OAuth approver
	DemoAdaEmail        = "ada@example.com"
	DemoRexID     int64 = 361 // agent
	DemoRexEmail        = "rex@example.com"
	DemoRitaID    int64 = 362 // agent
	DemoRitaEmail       = "rita@example.com"
	DemoVeraID    int64 = 9001 // end user, the visitor of the demo chats
	DemoVeraEmail       = "vera@example.com"

	DemoAppID          int64 = 1004567
	DemoInstallationID int64 = 360004567890
	DemoChatPlan             = "professional"

	DemoVeraChatID  = "2601.361.SbVeraPricing01"
	DemoLiamChatID  = "2601.0.SbLiamOffline001"
	DemoPaulChatID  = "2601.362.SbPaulRenewal01"
	demoChatEndedAt = -26 * time.Hour // the first chat ended this long before the sandbox started
)

// DemoSeed returns the demo account: Ada (admin and owner), Rex and Rita (agents),
// Vera (an end user), one installed app, Chat on the Professional plan, and three
// finished chats from the day before the sandbox started: Vera with Rex, an offline
// message from Liam, and Paul with Rita. Timestamps are set relative to the sandbox's
// clock when it loads the seed.
func DemoSeed() *Seed {
	return &Seed{
		Users: []zendesk.User{
			{ID: DemoAdaID, Name: "Ada Admin", Email: DemoAdaEmail, Role: zendesk.RoleAdmin, Active: true},
			{ID: DemoRexID, Name: "Rex Rep", Email: DemoRexEmail, Role: zendesk.RoleAgent, Active: true},
			{ID: DemoRitaID, Name: "Rita Rep", Email: DemoRitaEmail, Role: zendesk.RoleAgent, Active: true},
			{ID: DemoVeraID, Name: "Vera Visitor", Email: DemoVeraEmail, Role: zendesk.RoleEndUser, Active: true},
		},
		OwnerID:  DemoAdaID,
		ChatPlan: DemoChatPlan,
		Apps:     []App{{ID: DemoAppID, Name: "sellchat", InstallationID: DemoInstallationID, Product: "support"}},
		Chats:    demoChats(),
	}
}

// demoChats are written with placeholder times ({{t-60}} is 60 s after the first chat's
// end) that load replaces with the sandbox's clock.
func demoChats() []json.RawMessage {
	return []json.RawMessage{
		json.RawMessage(`{"id":"` + DemoVeraChatID + `","type":"chat","timestamp":"{{t-449}}","end_timestamp":"{{t}}","update_timestamp":"{{t+1}}",
"duration":449,"visitor":{"id":"10087.TYa","name":"Vera Visitor","email":"vera@example.com","phone":"+1 415 555 0100","notes":""},
"agent_names":["Rex Rep"],"agent_ids":["361"],"department_id":12,"department_name":"Sales","tags":["pricing"],"rating":"good",
"comment":"Very helpful","started_by":"visitor","missed":false,"unread":false,"triggered":false,"count":{"total":4,"agent":2,"visitor":2},
"response_time":{"first":12,"avg":20,"max":28},"session":{"browser":"Chrome","platform":"Mac OS","country_code":"US","city":"San Francisco"},
"webpath":[{"from":"https://example.com/","to":"https://example.com/pricing","timestamp":"{{t-500}}","title":"Pricing"}],"zendesk_ticket_id":null,
"history":[{"type":"chat.memberjoin","name":"Vera Visitor","nick":"visitor","timestamp":"{{t-449}}"},
{"type":"chat.msg","name":"Vera Visitor","nick":"visitor","msg":"Hi! What does the annual plan cost?","timestamp":"{{t-440}}"},
{"type":"chat.memberjoin","name":"Rex Rep","nick":"agent:361","timestamp":"{{t-430}}"},
{"type":"chat.msg","name":"Rex Rep","nick":"agent:361","msg":"Hello Vera, 12,000 USD a year for your team size.","timestamp":"{{t-428}}"},
{"type":"chat.msg","name":"Vera Visitor","nick":"visitor","msg":"Great, please send a quote.","timestamp":"{{t-400}}"},
{"type":"chat.msg","name":"Rex Rep","nick":"agent:361","msg":"On its way!","timestamp":"{{t-380}}"},
{"type":"chat.rating","new_rating":"good","timestamp":"{{t-10}}"},
{"type":"chat.memberleave","name":"Vera Visitor","nick":"visitor","timestamp":"{{t}}"}]}`),
		json.RawMessage(`{"id":"` + DemoLiamChatID + `","type":"offline_msg","timestamp":"{{t+3600}}","update_timestamp":"{{t+3600}}",
"visitor":{"id":"10088.LiA","name":"Liam Lead","email":"liam@example.org","phone":"(212) 555-0199","notes":""},
"message":"Please call me back about integrations.","department_id":null,"department_name":null,"tags":[],"zendesk_ticket_id":null,
"session":{"browser":"Firefox","platform":"Windows","country_code":"US","city":"New York"}}`),
		json.RawMessage(`{"id":"` + DemoPaulChatID + `","type":"chat","timestamp":"{{t+7000}}","end_timestamp":"{{t+7200}}","update_timestamp":"{{t+7201}}",
"duration":200,"visitor":{"id":"10089.PaU","name":"Paul Person","email":"paul@acme.example","phone":"+44 20 7946 0958","notes":""},
"agent_names":["Rita Rep"],"agent_ids":["362"],"department_id":12,"department_name":"Sales","tags":["renewal"],"rating":null,
"started_by":"visitor","missed":false,"unread":false,"triggered":false,"count":{"total":2,"agent":1,"visitor":1},"zendesk_ticket_id":null,
"history":[{"type":"chat.msg","name":"Paul Person","nick":"visitor","msg":"Can we renew early?","timestamp":"{{t+7010}}"},
{"type":"chat.msg","name":"Rita Rep","nick":"agent:362","msg":"Yes, I will prepare it.","timestamp":"{{t+7100}}"}]}`),
	}
}
