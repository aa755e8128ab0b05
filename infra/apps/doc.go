// Package apps holds the Zendesk app packages that sellchat ships, one folder per app
// (sell-app-in-chat: the panel beside a live chat; chat-app-in-sell: the chat history on
// Sell record cards and a way into the settings page), and the code that checks a package
// against the rules Zendesk's own validator applies on upload (Validate) and zips it the
// way Zendesk expects (Zip, Build). `make apps` writes the zips to bin/apps/.
//
// Zendesk checks an uploaded package with the Ruby library zendesk/zendesk_apps_support
// (ZAS); zcli's apps:validate only sends the zip to an account's API. Validate mirrors
// the ZAS rules so CI can check the packages without a Zendesk account: each rule names
// the ZAS file it comes from, and docs/zendesk-apps.md lists them with what could not be
// confirmed.
package apps

//go:generate go run ./logogen
